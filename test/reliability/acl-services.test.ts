/**
 * The deployment the README recommends: Redis with config/redis-acl, and each of the four real
 * services connected as its own user. Every path an incident takes must work under those users:
 * no NOPERM anywhere, every incident reaching an outcome.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { executorEnvSchema } from '../../services/executor/env.js';
import { startExecutor } from '../../services/executor/service.js';
import { ingestEnvSchema } from '../../services/ingest/env.js';
import { type IngestHandle, startIngest } from '../../services/ingest/service.js';
import { notifierEnvSchema } from '../../services/notifier/env.js';
import { startNotifier } from '../../services/notifier/service.js';
import { triageEnvSchema } from '../../services/triage/env.js';
import { startTriage } from '../../services/triage/service.js';
import { readConfigVersions } from '../../shared/config-versions.js';
import { parseEnv } from '../../shared/env.js';
import { IncidentStore } from '../../shared/incidents.js';
import { keyspace } from '../../shared/keys.js';
import { createLogger } from '../../shared/logger.js';
import { createQueue, NOTICE_SOURCES, QUEUE } from '../../shared/queues.js';
import type { IncidentStatus } from '../../shared/schemas/incident.js';
import { webhookBody } from '../support/incidents.js';
import { eventually } from '../support/redis.js';
import { type LocalRedis, startRedisServer } from '../support/redis-server.js';
import { LOCAL_TARGETS } from '../support/targets.js';
import { markerLines, writeTestPolicy } from './processes.js';

const prefix = 'aclstack';
const keys = keyspace(prefix);
const ADMIN = 'acl-admin';
let dir: string;
let server: LocalRedis;
let admin: Redis;
let ingest: IngestHandle;
const closers: (() => Promise<void>)[] = [];
const logLines: string[] = [];

function userUrl(user: string): string {
  return server.url.replace('redis://', `redis://${user}:CHANGE-ME-${user}@`);
}

function capturingLogger(service: string) {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  return createLogger(service, 'debug', sink);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hermes-acl-stack-'));
  // The shipped file, with this test's prefix; `default` on only so this test can look at keys.
  const acl = readFileSync('config/redis-acl', 'utf8')
    .replaceAll('{hermes}', `{${prefix}}`)
    .replace('user default off', 'user default on nopass ~* &* +@all');
  writeFileSync(join(dir, 'users.acl'), acl);
  server = await startRedisServer(['--aclfile', join(dir, 'users.acl')]);
  admin = new Redis(server.url, { maxRetriesPerRequest: null });
  const common = { HERMES_PREFIX: prefix, LOG_LEVEL: 'debug', TARGETS_FILE: LOCAL_TARGETS };
  const marker = join(dir, 'runs.log');
  ingest = await startIngest(
    parseEnv(ingestEnvSchema, {
      ...common,
      REDIS_URL: userUrl('ingest'),
      PORT: '0',
      HOST: '127.0.0.1',
      ADMIN_TOKEN: ADMIN,
    }),
    { logger: capturingLogger('ingest') },
  );
  closers.push(() => ingest.close());
  const executor = await startExecutor(
    parseEnv(executorEnvSchema, {
      ...common,
      REDIS_URL: userUrl('executor'),
      EXECUTION_MODE: 'live',
      POLICY_FILE: writeTestPolicy(dir, marker, 0),
      APPROVAL_SWEEP_SECONDS: '1',
    }),
    { logger: capturingLogger('executor') },
  );
  closers.push(() => executor.close());
  const triage = await startTriage(
    parseEnv(triageEnvSchema, {
      ...common,
      REDIS_URL: userUrl('triage'),
      PLANNER: 'runbook',
      VERIFY_WINDOW_SECONDS: '0',
      TRIAGE_LOCK_SECONDS: '2',
    }),
    { logger: capturingLogger('triage') },
  );
  closers.push(() => triage.close());
  const notifier = await startNotifier(
    parseEnv(notifierEnvSchema, { ...common, REDIS_URL: userUrl('notifier'), OUTBOX_RELAY_SECONDS: '1' }),
    { logger: capturingLogger('notifier') },
  );
  closers.push(() => notifier.close());
}, 60_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  admin?.disconnect();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${ingest.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify(body),
  });
}

async function reaches(id: string, statuses: IncidentStatus[]) {
  const store = new IncidentStore(admin, keys);
  return eventually(
    async () => {
      const incident = await store.get(id);
      return incident && statuses.includes(incident.status) ? incident : undefined;
    },
    `${id} to reach ${statuses.join('|')}`,
    30_000,
  );
}

it('runs every incident path under the four ACL users without a single NOPERM', async () => {
  // Level 1: triage reads, the executor restarts, verification finds it still firing, escalation.
  const down = webhookBody([{ alertname: 'ServiceDown', service: 'checkout', instance: 'app-server-01' }]);
  const accepted = await post('/webhooks/alertmanager', down);
  expect(accepted.status).toBe(202);
  const [downId] = ((await accepted.json()) as { incidents: string[] }).incidents;
  const escalated = await reaches(downId as string, ['escalated']);
  expect(escalated.actions.map((a) => [a.tool, a.decision])).toEqual([['restart_service', 'executed']]);
  // Alertmanager resolves it: the incident follows.
  const [firing] = down.alerts;
  const resolved = webhookBody(
    [
      {
        alertname: 'ServiceDown',
        service: 'checkout',
        instance: 'app-server-01',
        status: 'resolved',
        fingerprint: firing?.fingerprint,
        startsAt: firing?.startsAt,
        labels: firing?.labels,
      },
    ],
    'resolved',
  );
  expect((await post('/webhooks/alertmanager', resolved)).status).toBe(202);
  await reaches(downId as string, ['resolved']);

  // Level 2: an approval, decided through the API, run by the executor, verified by triage.
  const slow = await post(
    '/webhooks/alertmanager',
    webhookBody([{ alertname: 'HighLatency', service: 'checkout', instance: 'app-server-01' }]),
  );
  const [slowId] = ((await slow.json()) as { incidents: string[] }).incidents;
  await reaches(slowId as string, ['awaiting_approval']);
  const approvals = (await (
    await fetch(`${ingest.url}/api/approvals`, { headers: { authorization: `Bearer ${ADMIN}` } })
  ).json()) as { approvals: { id: string; incidentId: string }[] };
  const approval = approvals.approvals.find((a) => a.incidentId === slowId);
  expect((await post(`/api/approvals/${approval?.id}/approve`, { by: 'alice' })).status).toBe(200);
  const after = await reaches(slowId as string, ['escalated', 'resolved']);
  expect(after.actions.some((a) => a.decision === 'executed')).toBe(true);

  // A human's word closes what waits: a re-run (new round, back to the agent) and then a resolve
  // each cancel the pending approval, as the executor's user.
  const waiting = await post(
    '/webhooks/alertmanager',
    webhookBody([{ alertname: 'HighLatency', service: 'search', instance: 'app-server-01' }]),
  );
  const [waitingId] = ((await waiting.json()) as { incidents: string[] }).incidents;
  const store = new IncidentStore(admin, keys);
  const pendingOf = async () =>
    (
      await (
        await fetch(`${ingest.url}/api/approvals`, { headers: { authorization: `Bearer ${ADMIN}` } })
      ).json()
    ).approvals
      .filter((a: { incidentId: string }) => a.incidentId === waitingId)
      .map((a: { id: string }) => a.id) as string[];
  const firstAsk = await eventually(async () => (await pendingOf())[0], 'the first approval request', 30_000);
  expect((await post(`/api/incidents/${waitingId}/rerun`, { by: 'bob' })).status).toBe(200);
  const secondAsk = await eventually(
    async () => (await pendingOf()).find((id) => id !== firstAsk),
    'the re-run to ask again',
    30_000,
  );
  expect((await post(`/api/incidents/${waitingId}/resolve`, { by: 'bob' })).status).toBe(200);
  for (const [id, comment] of [
    [firstAsk, 're-run by bob+break-glass'],
    [secondAsk, 'resolved by bob+break-glass'],
  ] as const)
    expect(await admin.hmget(keys.approval(id), 'status', 'comment')).toEqual(['cancelled', comment]);
  expect((await store.get(waitingId as string))?.actions.map((a) => a.decision)).toEqual([
    'cancelled',
    'cancelled',
  ]);

  // The breaker is closed through the executor, the kill switch through ingest.
  expect((await post('/api/automation/breaker/reset', { by: 'alice', reason: 'acl test' })).status).toBe(200);
  expect((await post('/api/automation/pause', { by: 'alice' })).status).toBe(200);
  expect((await post('/api/automation/resume', {})).status).toBe(200);

  // Every notice reached the notifier, each on its source's queue.
  const queues = NOTICE_SOURCES.map((source) =>
    createQueue(QUEUE.notifications[source], admin, keys.bullPrefix),
  );
  try {
    for (const queue of queues) {
      await eventually(
        async () => (await queue.getJobCounts('waiting', 'active', 'delayed')).waiting === 0,
        `the notifier to drain ${queue.name}`,
      );
      expect((await queue.getJobCounts('completed')).completed, queue.name).toBeGreaterThan(0);
      expect((await queue.getJobCounts('failed')).failed, queue.name).toBe(0);
    }
  } finally {
    await Promise.all(queues.map((queue) => queue.close()));
  }
  expect(markerLines(join(dir, 'runs.log')).length).toBeGreaterThan(0);
  expect(logLines.filter((line) => /NOPERM|no permissions/i.test(line))).toEqual([]);
}, 90_000);

it('each service publishes the config versions it runs under its own ACL user', async () => {
  const published = await readConfigVersions(admin, keys);
  const sha = (service: keyof typeof published) => published[service]?.TARGETS_FILE?.version?.sha256;
  expect(sha('ingest')).toMatch(/^[0-9a-f]{64}$/);
  expect([sha('triage'), sha('executor')]).toEqual([sha('ingest'), sha('ingest')]);
  expect(published.triage?.RUNBOOKS_FILE?.reloads).toBe(true);
  expect(published.executor?.POLICY_FILE?.reloads).toBe(false);
  // No NOTIFIER_ROUTES_FILE: nothing to follow, but published all the same.
  expect(published.notifier).toEqual({});
});
