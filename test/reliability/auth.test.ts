import { request } from 'node:http';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestEnvSchema } from '../../services/ingest/env.js';
import { type IngestHandle, startIngest } from '../../services/ingest/service.js';
import { startTestIngest } from '../../services/ingest/test/harness.js';
import { notifierEnvSchema } from '../../services/notifier/env.js';
import { ApprovalStore } from '../../shared/approvals.js';
import { actionHash } from '../../shared/canonical.js';
import { parseEnv } from '../../shared/env.js';
import { createQueue, QUEUE } from '../../shared/queues.js';
import type { Approval } from '../../shared/schemas/approval.js';
import type { ActionJob } from '../../shared/schemas/jobs.js';
import { signSlackRequest } from '../../shared/slack-signature.js';
import { createPendingApproval } from '../support/approvals.js';
import { openIncident, webhookBody } from '../support/incidents.js';
import { capturingLogger } from '../support/log-capture.js';
import { openTestRedis, type TestRedis } from '../support/redis.js';
import { writeUsersFile } from '../support/users.js';

const INGEST_TOKEN = 'ingest-secret-9f8e7d6c5b4a';
const ADMIN_TOKEN = 'admin-secret-1a2b3c4d5e6f';
const SLACK_SIGNING_SECRET = 'slack-signing-secret-0011223344';
const SECRETS = [INGEST_TOKEN, ADMIN_TOKEN, SLACK_SIGNING_SECRET];

/** Every route that changes something or reveals incidents, with the token it needs. */
const PROTECTED: [method: string, path: string, token: 'ingest' | 'admin'][] = [
  ['POST', '/webhooks/alertmanager', 'ingest'],
  ['GET', '/api/incidents', 'admin'],
  ['GET', '/api/incidents/inc_x', 'admin'],
  ['GET', '/api/approvals', 'admin'],
  ['POST', '/api/approvals/apr_x/approve', 'admin'],
  ['POST', '/api/approvals/apr_x/deny', 'admin'],
  ['GET', '/api/automation', 'admin'],
  ['POST', '/api/automation/pause', 'admin'],
  ['POST', '/api/automation/resume', 'admin'],
  ['GET', '/api/audit/verify', 'admin'],
  ['GET', '/api/audit/positions', 'admin'],
  ['GET', '/admin/queues', 'admin'],
  ['GET', '/admin/queues/api/queues', 'admin'],
];

describe('auth: nobody gets in without the right secret, and no secret reaches the logs', () => {
  let t: TestRedis;
  let ingest: IngestHandle;
  const captured = capturingLogger('ingest', 'trace');
  const logs = () => captured.lines.join('');

  beforeAll(async () => {
    t = await openTestRedis();
    const env = parseEnv(ingestEnvSchema, {
      REDIS_URL: t.url,
      HERMES_PREFIX: t.prefix,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'trace',
      INGEST_TOKEN,
      ADMIN_TOKEN,
      SLACK_SIGNING_SECRET,
    });
    const { logger } = captured;
    // What a careless start-up or error path might log: the redaction must still hold.
    logger.info({ env }, 'configuration');
    logger.info({ req: { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } }, 'request');
    ingest = await startIngest(env, { logger });
  });
  afterAll(async () => {
    await ingest?.close();
    await t?.close();
  });

  const send = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    fetch(`${ingest.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: method === 'POST' ? (body ?? '{"by":"mallory"}') : undefined,
    });

  it('refuses every protected route without the token, with a wrong one, or with the other one', async () => {
    const basic = (password: string) => `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
    const statuses: Record<number, number> = {};
    // All at once: past the guess limits each wrong token's answer is held back a while.
    const attempts = PROTECTED.flatMap(([method, path, needs]) => {
      const other = needs === 'admin' ? INGEST_TOKEN : ADMIN_TOKEN;
      return [
        undefined,
        'Bearer ',
        'Bearer wrong',
        `Bearer ${other}`,
        `bearer ${(needs === 'admin' ? ADMIN_TOKEN : INGEST_TOKEN).slice(0, -1)}`,
        basic('wrong'),
        `Token ${needs === 'admin' ? ADMIN_TOKEN : INGEST_TOKEN}`,
      ].map(async (authorization) => {
        const response = await send(method, path, authorization ? { authorization } : {});
        // Past 10 wrong admin tokens from this address, the API answers 429 (guess limits) instead.
        const refusals = needs === 'admin' ? [401, 429] : [401];
        expect(refusals, `${method} ${path} with ${authorization ?? 'nothing'}`).toContain(response.status);
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      });
    });
    await Promise.all(attempts);
    const tried = attempts.length;
    expect(await t.redis.get(t.keys.paused)).toBeNull();
    console.log(
      `[reliability] auth: ${tried} unauthenticated requests on ${PROTECTED.length} routes, refused: ${JSON.stringify(statuses)}`,
    );
    // The guess window passes before the next test.
    const counters = await t.redis.keys(t.keys.guesses('*'));
    if (counters.length > 0) await t.redis.del(...counters);
  });

  it('lets the right token through (Bull Board also by Basic auth)', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expect((await send('GET', '/api/incidents', admin)).status).toBe(200);
    expect((await send('GET', '/admin/queues/api/queues', admin)).status).toBe(200);
    const basic = `Basic ${Buffer.from(`ops:${ADMIN_TOKEN}`).toString('base64')}`;
    expect((await send('GET', '/admin/queues/api/queues', { authorization: basic })).status).toBe(200);
  });

  describe('approvals', () => {
    const approval = async (expiresInMs: number): Promise<Approval> => {
      const incidentId = await openIncident(t, { alertname: 'HighLatency', service: 'web' });
      const args = { service: 'web', delta: 1 };
      return createPendingApproval(t.redis, t.keys, {
        id: `apr_${Math.random().toString(36).slice(2)}`,
        incidentId,
        actionId: `act_${Math.random().toString(36).slice(2)}`,
        tool: 'scale_service',
        args,
        argsHash: actionHash('scale_service', args),
        reason: 'latency',
        risk: 'low',
        expiresInMs,
      });
    };
    const actionJobs = async (approvalId: string) => {
      const queue = createQueue<ActionJob>(QUEUE.actions, t.redis, t.keys.bullPrefix);
      try {
        const jobs = await queue.getJobs(['waiting', 'prioritized', 'active', 'completed', 'failed']);
        return jobs.filter((j) => j.data.approvalId === approvalId);
      } finally {
        await queue.close();
      }
    };
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

    it('needs an existing approval', async () => {
      const response = await send('POST', '/api/approvals/apr_missing/approve', admin, '{"by":"alice"}');
      expect(response.status).toBe(404);
    });

    it('refuses an expired approval and queues nothing', async () => {
      const expired = await approval(-1_000);
      const response = await send('POST', `/api/approvals/${expired.id}/approve`, admin, '{"by":"alice"}');
      expect(response.status).toBe(409);
      expect(((await response.json()) as { error: string }).error).toMatch(/expired/);
      expect(await actionJobs(expired.id)).toEqual([]);
    });

    it('cannot be replayed: a second approve, a deny after it, and a second spend are refused', async () => {
      const pending = await approval(60_000);
      const first = await send('POST', `/api/approvals/${pending.id}/approve`, admin, '{"by":"alice"}');
      expect(first.status).toBe(200);
      for (const verb of ['approve', 'deny']) {
        const again = await send('POST', `/api/approvals/${pending.id}/${verb}`, admin, '{"by":"mallory"}');
        expect(again.status).toBe(409);
      }
      expect(await actionJobs(pending.id)).toHaveLength(1);
      const store = new ApprovalStore(t.redis, t.keys);
      expect(await store.consume(pending.id, pending.tool, pending.argsHash)).toBeNull();
      expect(await store.consume(pending.id, pending.tool, pending.argsHash)).toBe('already_used');
    });

    it('is spent only on the exact action it was granted for', async () => {
      const pending = await approval(60_000);
      await send('POST', `/api/approvals/${pending.id}/approve`, admin, '{"by":"alice"}');
      const store = new ApprovalStore(t.redis, t.keys);
      const other = actionHash('scale_service', { service: 'web', delta: 2 });
      expect(await store.consume(pending.id, 'scale_service', other)).toBe('action_mismatch');
      expect(await store.consume(pending.id, 'delete_database', pending.argsHash)).toBe('action_mismatch');
    });

    it('Slack: refuses bad, stale and replayed signatures', async () => {
      const pending = await approval(60_000);
      const payload = {
        type: 'block_actions',
        user: { id: 'U1', username: 'alice' },
        actions: [{ action_id: 'approve', value: pending.id }],
      };
      const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      const now = String(Math.floor(Date.now() / 1000));
      const slack = (timestamp: string, signature: string) =>
        fetch(`${ingest.url}/slack/interactions`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-slack-request-timestamp': timestamp,
            'x-slack-signature': signature,
          },
          body,
        });
      const stale = String(Number(now) - 6 * 60);
      const refused = [
        await slack(now, signSlackRequest('not-the-secret', now, body)),
        await slack(now, tampered(signSlackRequest(SLACK_SIGNING_SECRET, now, body))),
        await slack(now, signSlackRequest(SLACK_SIGNING_SECRET, now, `${body}&x=1`)),
        await slack(stale, signSlackRequest(SLACK_SIGNING_SECRET, stale, body)),
        await slack('', ''),
      ];
      expect(refused.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
      expect(await actionJobs(pending.id)).toEqual([]);

      const signature = signSlackRequest(SLACK_SIGNING_SECRET, now, body);
      const accepted = await slack(now, signature);
      expect(((await accepted.json()) as { text: string }).text).toMatch(/Approved by slack-alice/);
      const replayed = await slack(now, signature);
      expect(((await replayed.json()) as { text: string }).text).toMatch(/was already approved by /);
      expect(await actionJobs(pending.id)).toHaveLength(1);
    });
  });

  it('never writes a secret to the logs', () => {
    expect(logs().length).toBeGreaterThan(0);
    expect(logs()).toContain('[redacted]');
    for (const secret of SECRETS) expect(logs()).not.toContain(secret);
  });

  it('never prints a secret in a configuration error', () => {
    let message = '';
    try {
      parseEnv(notifierEnvSchema, {
        SLACK_WEBHOOK_URL: 'hooks.slack.com/services/T0/B0/secret-path-value',
        PAGERDUTY_EVENTS_URL: 'nope',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/SLACK_WEBHOOK_URL: .*\(got "\[redacted\]"\)/);
    expect(message).toMatch(/PAGERDUTY_EVENTS_URL/);
    expect(message).not.toContain('secret-path-value');
  });
});

/** The signature with its last hex digit changed (to another digit: a fixed one would sometimes be the same). */
function tampered(signature: string): string {
  return `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
}

/** One request over node:http, which sends the Host header it is given (fetch would not). */
function rawRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method,
        headers,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A fresh Redis and ingest on it (on a free local port, with `env` on top) for the length of `run`. */
async function withIngest(
  env: Record<string, string>,
  run: (t: TestRedis, ingest: IngestHandle) => Promise<void>,
  logger?: Logger,
): Promise<void> {
  const t = await openTestRedis();
  let ingest: IngestHandle | undefined;
  try {
    ingest = await startTestIngest(t, env, logger);
    await run(t, ingest);
  } finally {
    await ingest?.close();
    await t.close();
  }
}

describe('a stranger guessing tokens from the admin’s address cannot lock the admin out', () => {
  it('lets 30 of 30 admin requests through while 50 wrong tokens a second arrive from the same address', async () => {
    await withIngest({ ADMIN_TOKEN }, async (_t, ingest) => {
      const url = ingest.url;
      const wrong = (i: number) =>
        fetch(`${url}/api/incidents`, { headers: { authorization: `Bearer guess-${i}` } }).then(
          (r) => r.status,
        );
      // The address is already past its limit when the admin starts.
      await Promise.all(Array.from({ length: 15 }, (_, i) => wrong(i)));
      const strangers: Promise<number>[] = [];
      let sent = 15;
      const flood = setInterval(() => strangers.push(wrong(sent++)), 20);
      const admin: number[] = [];
      try {
        for (let i = 0; i < 30; i++) {
          // Spread over the flood (status assertions only: the pace just keeps the two interleaved).
          await new Promise((resolve) => setTimeout(resolve, 50));
          const path = i % 3 === 2 ? '/api/automation/pause' : '/api/incidents';
          const res = await fetch(`${url}${path}`, {
            method: i % 3 === 2 ? 'POST' : 'GET',
            headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
            body: i % 3 === 2 ? JSON.stringify({ by: 'alice' }) : undefined,
          });
          admin.push(res.status);
        }
      } finally {
        clearInterval(flood);
      }
      const refused = await Promise.all(strangers);
      expect(admin).toEqual(Array(30).fill(200));
      // The guesser was refused throughout, and slowed (429) rather than told each guess was checked.
      expect(refused.every((status) => status === 401 || status === 429)).toBe(true);
      expect(refused.filter((status) => status === 429).length).toBeGreaterThan(0);
      console.log(
        `[reliability] auth: admin ${admin.filter((s) => s === 200).length}/30 through while ${refused.length} wrong tokens arrived from its address`,
      );
    });
  });
});

describe('without tokens, a DNS-rebinding page gets nothing', () => {
  it('refuses every protected route whose Host is not this machine, with a same-origin Origin', async () => {
    await withIngest({}, async (t, ingest) => {
      const incidentId = await openIncident(t, { alertname: 'Rebound', service: 'web' });
      const port = new URL(ingest.url).port;
      const page = { host: `evil.example:${port}`, origin: `http://evil.example:${port}` };
      const routes: [string, string][] = [
        ...PROTECTED.map(([method, path]) => [method, path.replace('inc_x', incidentId)] as [string, string]),
        ['POST', `/api/incidents/${incidentId}/acknowledge`],
        ['POST', '/api/automation/breaker/reset'],
        ['GET', '/ui'],
        ['POST', '/ui/login'],
      ];
      const answers: [route: string, status: number, body: string][] = [];
      for (const [method, path] of routes) {
        const body =
          path === '/webhooks/alertmanager'
            ? JSON.stringify(webhookBody([{ alertname: 'Injected', service: 'web' }]))
            : path === '/ui/login'
              ? 'name=mallory'
              : JSON.stringify({ by: 'mallory', reason: 'rebinding' });
        const res = await rawRequest(
          `${ingest.url}${path}`,
          method,
          {
            ...page,
            'content-type': path === '/ui/login' ? 'application/x-www-form-urlencoded' : 'application/json',
            ...(method === 'POST' ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
          },
          method === 'POST' ? body : undefined,
        );
        answers.push([`${method} ${path.replace(incidentId, ':id')}`, res.status, res.body]);
      }
      // Every route's answer at once, so a failure shows each one that let the page in.
      const error = `Host evil.example:${port} is not this machine: without tokens only localhost may be used`;
      expect(answers).toEqual(answers.map(([route]) => [route, 421, JSON.stringify({ error })]));
      expect(await t.redis.get(t.keys.paused)).toBeNull();
      expect(await t.redis.zcard(t.keys.incidentIndex)).toBe(1);
      // This machine's own names still work.
      for (const host of [
        'localhost',
        `localhost:${port}`,
        `127.0.0.1:${port}`,
        '127.9.9.9',
        `[::1]:${port}`,
      ]) {
        const res = await rawRequest(`${ingest.url}/api/automation`, 'GET', { host });
        expect(res.status, host).toBe(200);
      }
    });
  });
});

describe('refusals are logged with their reason and address, never the token, and a flood stays short', () => {
  it('says why each request was refused', async () => {
    const captured = capturingLogger('ingest', 'info');
    const viewer = 'viewer-token-0123456789abcdef';
    const env = {
      ADMIN_TOKEN,
      INGEST_TOKEN,
      USERS_FILE: writeUsersFile([{ name: 'vera', role: 'viewer', token: viewer }]),
    };
    await withIngest(
      env,
      async (_t, ingest) => {
        const url = ingest.url;
        const api = (headers: Record<string, string>, method = 'GET', path = '/api/incidents') =>
          fetch(`${url}${path}`, {
            method,
            headers: { 'content-type': 'application/json', ...headers },
            body: method === 'POST' ? '{}' : undefined,
          });
        expect((await fetch(`${url}/webhooks/alertmanager`, { method: 'POST', body: '{}' })).status).toBe(
          401,
        );
        expect((await api({})).status).toBe(401);
        expect((await api({ authorization: `Token ${ADMIN_TOKEN}` })).status).toBe(401);
        await Promise.all(
          Array.from({ length: 100 }, (_, i) => api({ authorization: `Bearer wrong-secret-${i}` })),
        );
        expect(
          (await api({ authorization: `Bearer ${viewer}` }, 'POST', '/api/automation/pause')).status,
        ).toBe(403);
        expect(
          (
            await api(
              { origin: 'https://evil.example', authorization: `Bearer ${ADMIN_TOKEN}` },
              'POST',
              '/api/automation/pause',
            )
          ).status,
        ).toBe(403);
        const text = captured.lines.join('');
        const lines: { msg?: string; reason?: string; address?: string; status?: number; path?: string }[] =
          text
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line))
            .filter((line) => line.msg === 'request refused');
        const reasons = lines.map((line) => line.reason);
        expect(reasons).toEqual(
          expect.arrayContaining([
            'missing token',
            'malformed Authorization header',
            'wrong token',
            'missing role',
            'cross-site',
          ]),
        );
        for (const line of lines) expect(line.address).toBe('127.0.0.1');
        expect(lines[0]).toMatchObject({
          reason: 'missing token',
          status: 401,
          path: '/webhooks/alertmanager',
        });
        expect(lines.find((line) => line.reason === 'missing role')).toMatchObject({
          status: 403,
          name: 'vera',
        });
        // 100 wrong tokens from one address: one line, the rest counted on the next one.
        expect(reasons.filter((reason) => reason === 'wrong token')).toHaveLength(1);
        expect(text).not.toContain(ADMIN_TOKEN);
        expect(text).not.toContain(viewer);
        expect(text).not.toContain('wrong-secret-');
      },
      captured.logger,
    );
  });
});
