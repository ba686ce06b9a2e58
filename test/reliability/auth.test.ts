import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestEnvSchema } from '../../services/ingest/env.js';
import { type IngestHandle, startIngest } from '../../services/ingest/service.js';
import { notifierEnvSchema } from '../../services/notifier/env.js';
import { ApprovalStore } from '../../shared/approvals.js';
import { actionHash } from '../../shared/canonical.js';
import { parseEnv } from '../../shared/env.js';
import { createLogger } from '../../shared/logger.js';
import { createQueue, QUEUE } from '../../shared/queues.js';
import type { Approval } from '../../shared/schemas/approval.js';
import type { ActionJob } from '../../shared/schemas/jobs.js';
import { signSlackRequest } from '../../shared/slack-signature.js';
import { createPendingApproval } from '../support/approvals.js';
import { openIncident } from '../support/incidents.js';
import { openTestRedis, type TestRedis } from '../support/redis.js';

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
  let logs = '';

  beforeAll(async () => {
    t = await openTestRedis();
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs += chunk;
        done();
      },
    });
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
    const logger = createLogger('ingest', 'trace', sink);
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
    let tried = 0;
    const statuses: Record<number, number> = {};
    for (const [method, path, needs] of PROTECTED) {
      const other = needs === 'admin' ? INGEST_TOKEN : ADMIN_TOKEN;
      for (const authorization of [
        undefined,
        'Bearer ',
        'Bearer wrong',
        `Bearer ${other}`,
        `bearer ${(needs === 'admin' ? ADMIN_TOKEN : INGEST_TOKEN).slice(0, -1)}`,
        basic('wrong'),
        `Token ${needs === 'admin' ? ADMIN_TOKEN : INGEST_TOKEN}`,
      ]) {
        const response = await send(method, path, authorization ? { authorization } : {});
        tried++;
        // Past 10 wrong admin tokens from this address, the API answers 429 (guess limits) instead.
        const refusals = needs === 'admin' ? [401, 429] : [401];
        expect(refusals, `${method} ${path} with ${authorization ?? 'nothing'}`).toContain(response.status);
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      }
    }
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
      expect(((await replayed.json()) as { text: string }).text).toMatch(/already_approved/);
      expect(await actionJobs(pending.id)).toHaveLength(1);
    });
  });

  it('never writes a secret to the logs', () => {
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).toContain('[redacted]');
    for (const secret of SECRETS) expect(logs).not.toContain(secret);
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
