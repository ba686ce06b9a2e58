import { readFileSync, rmSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { SAFE_ARG_PATTERN } from '../../services/executor/args.js';
import { renderArgv } from '../../services/executor/command.js';
import { PolicyError, parsePolicy } from '../../services/executor/policy.js';
import type { ExecutorHandle } from '../../services/executor/service.js';
import type { IngestHandle } from '../../services/ingest/service.js';
import { post, startTestIngest } from '../../services/ingest/test/harness.js';
import { IncidentStore } from '../../shared/incidents.js';
import { createQueue, createQueueEvents, QUEUE } from '../../shared/queues.js';
import { alertmanagerWebhookSchema } from '../../shared/schemas/alertmanager.js';
import {
  type ActionOutcome,
  actionJobSchema,
  notificationJobSchema,
  triageJobSchema,
} from '../../shared/schemas/jobs.js';
import { webhookBody } from '../support/incidents.js';
import { openTestRedis, type TestRedis } from '../support/redis.js';
import { LOCAL_TARGETS } from '../support/targets.js';
import { startLiveExecutor } from './live-services.js';
import { markerLines, tempDir } from './processes.js';

const RUNS = Number(process.env.RELIABILITY_PROPERTY_RUNS ?? 60);
const tried: Record<string, number> = {};
afterAll(() => console.log(`[reliability] malformed inputs tried: ${JSON.stringify(tried)}`));
const count = (what: string) => {
  tried[what] = (tried[what] ?? 0) + 1;
};

async function keysUnder(t: TestRedis): Promise<string[]> {
  return (await t.redis.keys(`{${t.prefix}}*`)).sort();
}

/** Ways to break a valid webhook body, each one certainly invalid. */
const brokenWebhook = fc.oneof(
  fc.jsonValue().filter((v) => !alertmanagerWebhookSchema.safeParse(v).success),
  fc
    .record({
      field: fc.constantFrom(
        'status',
        'alerts',
        'labels',
        'fingerprint',
        'startsAt',
        'alertname',
        'alertStatus',
      ),
      value: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 })),
    })
    .map(({ field, value }) => {
      const body = webhookBody([{ alertname: 'ServiceDown' }]) as unknown as Record<string, unknown>;
      const alert = (body.alerts as Record<string, unknown>[])[0] as Record<string, unknown>;
      const labels = alert.labels as Record<string, unknown>;
      if (field === 'status') body.status = typeof value === 'string' ? `x${value}` : value;
      if (field === 'alerts') body.alerts = Array.isArray(value) ? [] : value;
      if (field === 'labels') alert.labels = { ...labels, alertname: typeof value === 'string' ? 0 : value };
      if (field === 'fingerprint') alert.fingerprint = typeof value === 'string' ? `${value}/../x` : value;
      if (field === 'startsAt') alert.startsAt = typeof value === 'string' ? '' : value;
      if (field === 'alertname') labels.alertname = '';
      if (field === 'alertStatus') alert.status = typeof value === 'string' ? `${value}!` : value;
      return body;
    }),
);

describe('malformed input gets a clear error and writes nothing', () => {
  let t: TestRedis;
  let ingest: IngestHandle;
  let executor: ExecutorHandle;
  let dir: string;
  let marker: string;

  beforeAll(async () => {
    t = await openTestRedis();
    dir = tempDir('props');
    ingest = await startTestIngest(t, { LOG_LEVEL: 'silent', TARGETS_FILE: LOCAL_TARGETS });
    ({ marker, executor } = await startLiveExecutor(t, dir));
  });
  afterAll(async () => {
    await executor?.close();
    await ingest?.close();
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('webhook bodies: 400 with the zod issues, nothing stored', async () => {
    const before = await keysUnder(t);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          brokenWebhook.map((b) => JSON.stringify(b)),
          fc.string(),
        ),
        async (text) => {
          if (isValidWebhook(text)) return;
          count('webhook bodies');
          const response = await post(ingest.url, text);
          expect(response.status).toBe(400);
          const reply = (await response.json()) as { error: string; details: unknown };
          expect(reply.error).toMatch(/invalid Alertmanager webhook body|not valid JSON/);
          expect(reply.details).toBeDefined();
        },
      ),
      { numRuns: RUNS * 3 },
    );
    expect(await keysUnder(t)).toEqual(before);
  });

  it('hostile but valid webhooks: every alert is stored, whatever its strings and times; later episodes are not lost', async () => {
    const store = new IncidentStore(t.redis, t.keys);
    const prototypeNames = fc.constantFrom(
      '__proto__',
      'constructor',
      'toString',
      'valueOf',
      'hasOwnProperty',
      'prototype',
    );
    const control = fc
      .array(fc.integer({ min: 0, max: 0x9f }), { minLength: 1, maxLength: 6 })
      .map((codes) => String.fromCharCode(...codes.map((c) => (c > 0x1f && c < 0x7f ? 0x1b : c))));
    const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
    const hostile = fc
      .array(fc.oneof(prototypeNames, control, loneSurrogate, fc.string({ unit: 'binary', maxLength: 20 })), {
        minLength: 1,
        maxLength: 4,
      })
      .map((parts) => parts.join(''))
      .filter((text) => text.length > 0);
    const time = fc.oneof(
      fc.constantFrom(
        '2099-12-31T23:59:59Z',
        '9999-12-31T23:59:59.999Z',
        '0001-01-01T00:00:00Z',
        '1970-01-01T00:00:00Z',
        'not a time',
      ),
      fc
        .date({ min: new Date('0001-01-01'), max: new Date('9999-12-31'), noInvalidDate: true })
        .map((d) => d.toISOString()),
    );
    const alert = fc.record({
      alertname: hostile,
      severity: fc.oneof(hostile, fc.constantFrom('critical', 'warning')),
      instance: hostile,
      service: hostile,
      extraName: fc.oneof(prototypeNames, hostile),
      extraValue: hostile,
      description: hostile,
      startsAt: time,
    });
    let episode = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(alert, { minLength: 1, maxLength: 4 }), async (alerts) => {
        count('hostile valid webhooks');
        episode++;
        const sent = alerts.map((a, i) => ({
          alertname: a.alertname,
          severity: a.severity,
          instance: a.instance,
          service: a.service,
          fingerprint: `${episode.toString(16)}f${i}`.padStart(16, '0'),
          startsAt: a.startsAt,
          labels: { [a.extraName]: a.extraValue },
          annotations: { description: a.description, [a.extraName]: a.extraValue },
        }));
        const firing = await post(ingest.url, webhookBody(sent));
        expect(firing.status, await firing.clone().text()).toBe(202);
        const reply = (await firing.json()) as { accepted: number; duplicates: number; incidents: string[] };
        expect(reply.accepted).toBe(alerts.length);
        for (const id of reply.incidents) expect((await store.get(id))?.alertname).toBeTypeOf('string');

        // Resolved, then a new episode of the same alerts now: taken as new, whatever time the first had.
        const resolved = await post(
          ingest.url,
          webhookBody(sent.map((a) => ({ ...a, status: 'resolved' as const }))),
        );
        expect(resolved.status).toBe(202);
        const now = new Date().toISOString();
        const again = await post(ingest.url, webhookBody(sent.map((a) => ({ ...a, startsAt: now }))));
        expect(again.status).toBe(202);
        expect(((await again.json()) as { accepted: number }).accepted).toBe(alerts.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('policy files: a PolicyError naming the place and the problem, never a crash or a partial policy', () => {
    const base = parse(readFileSync('config/policy.yaml', 'utf8'));
    const paths = fc.constantFrom(
      ['version'],
      ['limits', 'stateChangesPerHour'],
      ['breaker', 'failureThreshold'],
      ['tools', 'restart_service', 'tier'],
      ['tools', 'restart_service', 'args', 'service', 'type'],
      ['tools', 'restart_service', 'rateLimit', 'per'],
      ['tools', 'restart_service', 'backend', 'argv'],
      ['tools', 'clean_disk_space', 'backend', 'roots'],
      ['tools', 'Bad-Name'],
      ['tools', 'scale_service', 'scale', 'maxAboveBaseline'],
      ['unknown_key'],
    );
    fc.assert(
      fc.property(paths, fc.jsonValue(), (path, value) => {
        const policy = structuredClone(base);
        let node = policy;
        for (const key of path.slice(0, -1)) node = node[key];
        node[path.at(-1) as string] = value;
        let error: unknown;
        try {
          parsePolicy(stringify(policy), 'policy.yaml');
        } catch (caught) {
          error = caught;
        }
        if (error === undefined) return;
        count('policy files');
        expect(error).toBeInstanceOf(PolicyError);
        expect((error as Error).message).toMatch(/policy\.yaml:\d+:\d+/);
      }),
      { numRuns: RUNS * 3 },
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        count('policy files');
        expect(() => parsePolicy(`${text}\n: [`, 'policy.yaml')).toThrow(PolicyError);
      }),
      { numRuns: RUNS },
    );
  });

  it('job payloads: triage and notification jobs are refused by their schemas', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        count('triage/notification jobs');
        const triage = triageJobSchema.safeParse(value);
        if (triage.success) expect(triage.data.incidentId).toMatch(/^[A-Za-z0-9_-]{1,100}$/);
        expect(notificationJobSchema.safeParse(value).success).toBe(false);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('action jobs and tool arguments: the executor blocks them with a reason and runs nothing', async () => {
    const incident = webhookBody([{ alertname: 'ServiceDown', service: 'checkout' }]);
    const opened = await post(ingest.url, incident);
    const incidentId = ((await opened.json()) as { incidents: string[] }).incidents[0] as string;
    const hostile = fc.oneof(
      fc.string(),
      fc.constantFrom(
        'a; rm -rf /',
        '$(reboot)',
        '`id`',
        '--force',
        '-rf',
        '../../etc',
        'a b',
        'x|y',
        'x\ny',
        '',
      ),
    );
    const job = fc.oneof(
      fc.anything(),
      fc.record({
        actionId: fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
        incidentId: fc.constant(incidentId),
        tool: fc.constantFrom('restart_service', 'scale_service', 'clean_disk_space', 'rollback_deployment'),
        args: fc.oneof(
          fc.record({ service: hostile, host: hostile, reason: fc.string() }),
          fc.dictionary(fc.string(), fc.anything(), { maxKeys: 4 }),
          fc.record({
            host: hostile,
            paths: fc.array(fc.string(), { maxLength: 3 }),
            min_age_days: fc.integer(),
          }),
        ),
        requestedBy: fc.oneof(fc.constant('agent'), fc.string()),
      }),
      fc.record({
        actionId: fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
        incidentId: fc.constant(incidentId),
        tool: fc.oneof(
          fc.constantFrom(
            'delete_database',
            'drop_table',
            'delete_data',
            'modify_security_policy',
            'database_failover',
          ),
          fc.string({ minLength: 1 }),
        ),
        args: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }),
        requestedBy: fc.constant('agent'),
      }),
    );
    const payloads = fc.sample(job, RUNS * 2).map((data, i) => {
      const record = data as { actionId?: unknown };
      // Unique action ids, so each job is decided on its own (a repeated id answers from its claim).
      if (record && typeof record === 'object' && typeof record.actionId === 'string')
        record.actionId += `-${i}`;
      return data;
    });
    const queue = createQueue(QUEUE.agentActions, t.redis, t.keys.bullPrefix);
    const events = createQueueEvents(QUEUE.agentActions, t.redis.duplicate(), t.keys.bullPrefix);
    try {
      await events.waitUntilReady();
      const outcomes: ActionOutcome[] = [];
      for (const [i, data] of payloads.entries()) {
        count('action jobs');
        const added = await queue.add('action', data, { jobId: `prop-${i}` });
        outcomes.push((await added.waitUntilFinished(events, 10_000)) as ActionOutcome);
      }
      for (const [i, outcome] of outcomes.entries()) {
        const valid = actionJobSchema.safeParse(payloads[i]);
        const why = `${JSON.stringify(payloads[i])} → ${JSON.stringify(outcome)}`;
        // A well-formed request for a safe tool with safe arguments may legitimately run; nothing else may.
        if (outcome.decision === 'executed') {
          expect(valid.success, why).toBe(true);
          const args = valid.data?.args ?? {};
          for (const value of Object.values(args))
            if (typeof value === 'string' && valid.data?.tool !== 'clean_disk_space' && value !== args.reason)
              expect(value, why).toMatch(SAFE_ARG_PATTERN);
          continue;
        }
        expect(['blocked', 'pending_approval'], why).toContain(outcome.decision);
        expect(outcome.reason, why).toBeTruthy();
      }
      const ran = markerLines(marker).filter((l) => l.startsWith('start'));
      for (const line of ran) expect(line).toMatch(/^start( [A-Za-z0-9][A-Za-z0-9_.:@-]*)+$/);
      console.log(
        `[reliability] action jobs: ${outcomes.length} tried, decisions ${JSON.stringify(tally(outcomes.map((o) => o.decision)))}`,
      );
    } finally {
      await events.close();
      await queue.close();
    }
  }, 120_000);

  it('tool arguments: whatever passes a tool schema renders only safe argv words', () => {
    const policy = parsePolicy(readFileSync('config/policy.yaml', 'utf8'));
    const tools = Object.keys(policy.tools).filter((name) => policy.tool(name)?.backend?.kind === 'command');
    fc.assert(
      fc.property(
        fc.constantFrom(...tools),
        fc.dictionary(
          fc.constantFrom('service', 'host', 'change', 'replicas', 'delta', 'revision', 'reason'),
          fc.oneof(fc.string(), fc.integer(), fc.anything()),
        ),
        (name, args) => {
          count('tool arguments');
          const tool = policy.tool(name);
          const parsed = tool?.argsSchema.safeParse(args);
          if (!tool || !parsed?.success || tool.backend?.kind !== 'command') return;
          let argv: string[];
          try {
            argv = renderArgv(tool.backend.argv, { replicas: 3, ...parsed.data });
          } catch {
            return;
          }
          for (const word of argv.slice(1)) expect(word).not.toMatch(/[\s;|&$`<>()\\'"]/);
        },
      ),
      { numRuns: RUNS * 5 },
    );
  });
});

function isValidWebhook(text: string): boolean {
  try {
    return alertmanagerWebhookSchema.safeParse(JSON.parse(text)).success;
  } catch {
    return false;
  }
}

function tally(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
