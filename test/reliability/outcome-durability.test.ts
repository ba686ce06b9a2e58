import { existsSync, rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { verifyAuditChain } from '../../shared/audit-chain.js';
import { keyspace } from '../../shared/keys.js';
import { type ExecutorHarness, startExecutorHarness } from '../support/executor-harness.js';
import { openIncident } from '../support/incidents.js';
import { capturingLogger } from '../support/log-capture.js';
import { eventually, type TestRedis } from '../support/redis.js';
import { type LocalRedis, startRedisServer } from '../support/redis-server.js';

const REDIS_ARGS = ['--appendonly', 'yes', '--appendfsync', 'always'];
let server: LocalRedis;
let t: TestRedis;
let h: ExecutorHarness;
const executorLog = capturingLogger('executor', 'warn');

beforeAll(async () => {
  server = await startRedisServer(REDIS_ARGS);
  const prefix = 'reloutcome';
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  // This test takes Redis away on purpose: reconnect errors are expected, not news.
  redis.on('error', () => undefined);
  t = { url: server.url, prefix, keys: keyspace(prefix), redis, close: async () => redis.disconnect() };
  h = await startExecutorHarness({ t, logger: executorLog.logger });
});

afterAll(async () => {
  await h?.close();
  await t?.close();
  await server?.stop({ keepDir: true });
  if (server) rmSync(server.dir, { recursive: true, force: true });
});

it('an action that ran while Redis was down still gets its record and audit entry, once', async () => {
  const incidentId = await openIncident(t, { alertname: 'DBConnectionPoolExhausted', service: 'db' });
  const actionId = 'act-durable-1';
  // restart_db_pool runs the `slow` fixture (about a second): Redis dies while it runs.
  await h.agentActions.add(
    'action',
    {
      actionId,
      incidentId,
      tool: 'restart_db_pool',
      args: { service: 'db', reason: 'pool' },
      requestedBy: 'agent',
    },
    { jobId: actionId },
  );
  await eventually(async () => (await t.redis.exists(t.keys.exec(`claim:${actionId}`))) === 1, 'the claim');
  // The claim comes before the executor's last reads; Redis dies only once the command runs.
  await eventually(async () => existsSync(`${h.marker}.started`), 'the command to start', 10_000);
  const exited = new Promise((resolve) => server.process.once('exit', resolve));
  server.process.kill('SIGKILL');
  await exited;
  // The command finishes meanwhile; its outcome cannot be written until Redis is back.
  await eventually(async () => h.runs().length === 1, 'the command to finish', 10_000);
  // What follows the run (breaker, claim, record, audit) waits for Redis: the executor has said so.
  await eventually(
    async () => executorLog.lines.some((line) => line.includes(`${actionId} not stored yet; retrying`)),
    'the executor to find it cannot store what the run left',
  );
  server = await startRedisServer(REDIS_ARGS, { port: server.port, dir: server.dir });

  const record = await eventually(
    async () => (await h.incidents.getAction(incidentId, actionId).catch(() => null)) ?? undefined,
    'the action record',
    30_000,
  );
  expect(record).toMatchObject({ decision: 'executed', reason: expect.stringMatching(/^ran: run `/) });
  expect(h.runs()).toEqual(['slow db']);
  const audit = await eventually(async () => {
    const result = await verifyAuditChain(t.redis, t.keys).catch(() => null);
    return result && result.entries >= 1 ? result : undefined;
  }, 'the audit entry');
  expect(audit).toMatchObject({ ok: true, entries: 1 });
}, 60_000);
