/**
 * config/redis-acl on a real redis-server: each service has its own user; triage (the side that talks
 * to the model) can use its queues, timelines and statuses, but cannot write executor state (rate
 * limits, breaker, idempotency claims, audit), incident cores (the level), action records,
 * approvals or the kill switch — directly or from a Lua script.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalStore } from '../../../shared/approvals.js';
import { verifyAuditChain } from '../../../shared/audit-chain.js';
import { ExecutorClient } from '../../../shared/executor-client.js';
import { IncidentStore } from '../../../shared/incidents.js';
import { keyspace } from '../../../shared/keys.js';
import { QUEUE } from '../../../shared/queues.js';
import type { ActionOutcome } from '../../../shared/schemas/jobs.js';
import { createPendingApproval } from '../../../test/support/approvals.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { openFleet } from '../../../test/support/fleets.js';
import { openIncident } from '../../../test/support/incidents.js';
import { eventually, type TestRedis, uniquePrefix } from '../../../test/support/redis.js';
import { type LocalRedis, startRedisServer } from '../../../test/support/redis-server.js';

const prefix = uniquePrefix();
const keys = keyspace(prefix);
let dir: string;
let server: LocalRedis;
let admin: TestRedis;
let triage: Redis;
let h: ExecutorHarness;
let incidentId: string;
const clients: Redis[] = [];

function userUrl(user: string): string {
  return server.url.replace('redis://', `redis://${user}:CHANGE-ME-${user}@`);
}
function connect(user: string): Redis {
  const client = new Redis(userUrl(user), { maxRetriesPerRequest: null });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hermes-acl-'));
  // The shipped file with this test's prefix; `default` stays on only so the harness can ping and
  // this test can inspect keys (the shipped file turns it off).
  const acl = readFileSync('config/redis-acl', 'utf8')
    .replaceAll('{hermes}', `{${prefix}}`)
    .replace('user default off', 'user default on nopass ~* &* +@all');
  writeFileSync(join(dir, 'users.acl'), acl);
  server = await startRedisServer(['--aclfile', join(dir, 'users.acl')]);
  const adminClient = new Redis(server.url, { maxRetriesPerRequest: null });
  admin = { url: server.url, prefix, keys, redis: adminClient, close: async () => adminClient.disconnect() };
  // Ingest's own user opens the incident through the real ingest path.
  const ingest = connect('ingest');
  incidentId = await openIncident({ ...admin, redis: ingest }, { alertname: 'ServiceDown', service: 'api' });
  h = await startExecutorHarness({ t: admin, env: { REDIS_URL: userUrl('executor') } });
  triage = connect('triage');
});

afterAll(async () => {
  await h?.close();
  for (const client of clients) client.disconnect();
  await admin?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('config/redis-acl', () => {
  it('lets triage request actions and the executor decide, record and audit them', async () => {
    const actions = new Queue(QUEUE.agentActions, { connection: triage, prefix: keys.bullPrefix });
    const events = new QueueEvents(QUEUE.agentActions, {
      connection: { url: userUrl('triage') },
      prefix: keys.bullPrefix,
    });
    await events.waitUntilReady();
    const job = await actions.add(
      'action',
      {
        actionId: 'act-acl-1',
        incidentId,
        tool: 'restart_service',
        args: { service: 'api', host: 'app-server-01', reason: 'down' },
        requestedBy: 'agent',
      },
      { jobId: 'act-acl-1' },
    );
    const outcome = (await job.waitUntilFinished(events, 20_000)) as ActionOutcome;
    await events.close();
    await actions.close();
    expect(outcome.decision).toBe('executed');
    expect(h.runs()).toEqual(['restart api']);
    const incidents = new IncidentStore(triage, keys);
    expect((await incidents.getAction(incidentId, 'act-acl-1'))?.decision).toBe('executed');
    expect(await verifyAuditChain(triage, keys)).toEqual({
      ok: true,
      entries: 1,
      trimmed: false,
      lastSeq: 1,
    });
    // Triage's own legitimate writes.
    await incidents.appendTimeline(incidentId, { type: 'tool_call', by: 'triage', tool: 'get_service_logs' });
    expect(await incidents.setStatus(incidentId, 'diagnosing', 'triage')).not.toBeNull();
    expect(await incidents.getLevel(incidentId)).toBe(1);
  });

  it("lets ingest ask the executor on its queue and hear the answer on the queue's events", async () => {
    const actions = new Queue(QUEUE.actions, { connection: connect('ingest'), prefix: keys.bullPrefix });
    const events = new QueueEvents(QUEUE.actions, { connection: connect('ingest'), prefix: keys.bullPrefix });
    try {
      await events.waitUntilReady();
      const answer = await new ExecutorClient(actions, events).ask(
        'breaker_reset',
        { by: 'alice', reason: 'acl test' },
        { jobId: 'breaker-reset-acl', timeoutMs: 20_000 },
      );
      expect(answer).toMatchObject({ done: true, value: { reset: true } });
    } finally {
      await events.close();
      await actions.close();
    }
  });

  it('refuses every triage write to executor state, incident cores, actions, approvals and the kill switch', async () => {
    const attempts: [string, () => Promise<unknown>][] = [
      ['rate limit', () => triage.del(keys.exec('rl:global'))],
      ['rate limit add', () => triage.zadd(keys.exec('rl:restart_service:api'), 0, 'x')],
      ['breaker', () => triage.hset(keys.exec('breaker'), 'state', 'closed')],
      ['breaker failures', () => triage.del(keys.exec('breaker:failures'))],
      ['idempotency claim', () => triage.set(keys.exec('claim:act-acl-1'), '{}')],
      ['audit stream', () => triage.xadd(keys.audit, '*', 'data', '{}')],
      ['audit head', () => triage.set(keys.auditHead, '0')],
      ['incident level', () => triage.hset(keys.incident(incidentId), 'level', '1')],
      ['action record', () => triage.hset(keys.incidentActions(incidentId), 'act-x', '{}')],
      ['approval', () => triage.hset(keys.approval('apr_x'), 'status', 'approved')],
      ['pending approvals', () => triage.zadd(keys.approvalsPending, 0, 'apr_x')],
      ['kill switch', () => triage.del(keys.paused)],
      [
        'script with a declared key',
        () => triage.eval("return redis.call('SET', KEYS[1], '0')", 1, keys.auditHead),
      ],
      [
        'script with an undeclared key',
        () => triage.eval(`return redis.call('HSET', '${keys.incident(incidentId)}', 'level', '1')`, 0),
      ],
    ];
    for (const [what, attempt] of attempts)
      await expect(attempt(), what).rejects.toThrow(/NOPERM|no permissions|can't access/);
    expect(await admin.redis.hget(keys.incident(incidentId), 'level')).toBe('1');
    expect(await verifyAuditChain(admin.redis, keys)).toMatchObject({ ok: true });
  });

  it('does not let triage approve its own approval requests', async () => {
    await createPendingApproval(connect('executor'), keys, {
      id: 'apr_acl',
      incidentId,
      actionId: 'act-acl-2',
    });
    await expect(new ApprovalStore(triage, keys).decide('apr_acl', 'approved', 'mallory')).rejects.toThrow(
      /NOPERM|can't access/,
    );
    expect((await new ApprovalStore(triage, keys).get('apr_acl'))?.status).toBe('pending');
    expect((await new ApprovalStore(connect('ingest'), keys).decide('apr_acl', 'approved', 'alice')).ok).toBe(
      true,
    );
  });

  it('keeps ingest out of action records: only the executor writes what was decided', async () => {
    const ingest = connect('ingest');
    await expect(ingest.hset(keys.incidentActions(incidentId), 'act-forged', '{}')).rejects.toThrow(/NOPERM/);
    await expect(ingest.del(keys.incidentActions(incidentId))).rejects.toThrow(/NOPERM/);
  });

  it("keeps triage off the humans' action queue and every other service's notices", async () => {
    const humans = new Queue(QUEUE.actions, {
      connection: triage,
      prefix: keys.bullPrefix,
      skipMetasUpdate: true,
    });
    const executorNotices = new Queue(QUEUE.notifications.executor, {
      connection: triage,
      prefix: keys.bullPrefix,
      skipMetasUpdate: true,
    });
    const approved = {
      actionId: 'act-acl-forged',
      incidentId,
      tool: 'restart_service',
      args: { service: 'api', host: 'app-server-01', reason: 'down' },
      requestedBy: 'human:alice',
      approvalId: 'apr_x',
    };
    const notice = {
      eventId: 'forged-approval',
      incidentId,
      event: 'approval_requested',
      title: 'Approve',
      text: 'approve me',
    };
    const attempts: [string, () => Promise<unknown>][] = [
      ["pause the humans' queue", () => humans.pause()],
      ["add to the humans' queue", () => humans.add('action', approved, { jobId: approved.actionId })],
      ['breaker reset job', () => humans.add('breaker_reset', { by: 'mallory', reason: 'x' })],
      ["add to the executor's notices", () => executorNotices.add('approval_requested', notice)],
      ["write the executor's outbox", () => triage.hset(keys.outbox('executor'), 'forged', '{}')],
      ["write ingest's outbox", () => triage.hset(keys.outbox('ingest'), 'forged', '{}')],
    ];
    try {
      for (const [what, attempt] of attempts)
        await expect(attempt(), what).rejects.toThrow(/NOPERM|no permissions|can't access/);
    } finally {
      await Promise.all([humans.close(), executorNotices.close()]);
    }
    expect(await admin.redis.hexists(`${keys.bullPrefix}:${QUEUE.actions}:meta`, 'paused')).toBe(0);
    expect(await admin.redis.exists(`${keys.bullPrefix}:${QUEUE.actions}:${approved.actionId}`)).toBe(0);
    expect(await admin.redis.hexists(keys.outbox('executor'), 'forged')).toBe(0);
  });

  it('keeps ingest and the executor to their own notices', async () => {
    await expect(connect('ingest').hset(keys.outbox('triage'), 'forged', '{}')).rejects.toThrow(/NOPERM/);
    await expect(connect('executor').hset(keys.outbox('ingest'), 'forged', '{}')).rejects.toThrow(/NOPERM/);
    const triageNotices = new Queue(QUEUE.notifications.triage, {
      connection: connect('ingest'),
      prefix: keys.bullPrefix,
      skipMetasUpdate: true,
    });
    try {
      await expect(triageNotices.add('message', { eventId: 'x' })).rejects.toThrow(/NOPERM/);
    } finally {
      await triageNotices.close();
    }
  });

  it('keeps the executor out of incident cores and ingest state', async () => {
    const executor = connect('executor');
    await expect(executor.hset(keys.incident(incidentId), 'level', '1')).rejects.toThrow(/NOPERM/);
    await expect(executor.hset(keys.groups(0), 'group', 'inc_1')).rejects.toThrow(/NOPERM/);
    await expect(executor.hset(keys.fleet('inc_f'), 'status', 'closed')).rejects.toThrow(/NOPERM/);
  });

  it('lets the executor hold a change for a fleet incident ingest opened, and run it once ingest asks to release its region', async () => {
    const ingest = connect('ingest');
    const member = await openIncident(
      { ...admin, redis: ingest },
      { alertname: 'ServiceDown', service: 'web' },
    );
    await openFleet(
      { ...admin, redis: ingest },
      {
        id: 'inc_acl_fleet',
        alertname: 'ServiceDown',
        resource: 'web',
        places: [{ target: 'test-machine', host: 'a', region: 'unknown' }],
      },
    );
    const held = await h.submit({
      incidentId: member,
      tool: 'restart_service',
      args: { service: 'web', host: 'app-server-01', reason: 'down' },
    });
    expect(held).toMatchObject({ decision: 'held' });
    expect(held.reason).toMatch(/^held: part of fleet incident inc_acl_fleet /);
    const actions = new Queue(QUEUE.actions, { connection: ingest, prefix: keys.bullPrefix });
    const events = new QueueEvents(QUEUE.actions, { connection: connect('ingest'), prefix: keys.bullPrefix });
    try {
      await events.waitUntilReady();
      const answer = await new ExecutorClient(actions, events).ask(
        'fleet_release',
        { fleetId: 'inc_acl_fleet', region: 'unknown', by: 'alice' },
        { jobId: 'fleet-release-acl', timeoutMs: 20_000 },
      );
      expect(answer).toMatchObject({ done: true, value: { released: 1 } });
      await eventually(
        async () => h.runs().includes('restart web') || undefined,
        'the released change to run',
      );
    } finally {
      await events.close();
      await actions.close();
    }
  });
});
