import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { verifyAuditChain } from '../../shared/audit-chain.js';
import { IncidentStore } from '../../shared/incidents.js';
import { keyspace } from '../../shared/keys.js';
import { createQueue, QUEUE } from '../../shared/queues.js';
import type { ActionJob } from '../../shared/schemas/jobs.js';
import { openIncident } from '../support/incidents.js';
import { eventually, type TestRedis } from '../support/redis.js';
import { startRedisServer } from '../support/redis-server.js';
import { markerLines, type RunningService, startService, tempDir, writeTestPolicy } from './processes.js';

/**
 * Change budgets against real executor processes sharing one Redis. Local targets with the
 * slow-action fixture as the command: what is under test is the executor's decision and its
 * accounting, and the fixture's own marker file is the record of what really ran (SSH adds nothing).
 */
async function world(tag: string, budgets: Record<string, number>, actionSeconds: number) {
  const server = await startRedisServer();
  const dir = tempDir(tag);
  const prefix = `rel${tag}`;
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  const t: TestRedis = { url: server.url, prefix, keys: keyspace(prefix), redis, close: async () => {} };
  const marker = join(dir, 'runs.log');
  const policyFile = writeTestPolicy(dir, marker, actionSeconds);
  const policy = parse(readFileSync(policyFile, 'utf8'));
  policy.limits.stateChangesPerHour = 100_000;
  policy.tools.restart_service.rateLimit.max = 100_000;
  policy.budgets = budgets;
  writeFileSync(policyFile, stringify(policy));
  const services: RunningService[] = [];
  const agentActions: Queue<ActionJob> = createQueue(QUEUE.agentActions, redis, t.keys.bullPrefix);
  return {
    t,
    marker,
    agentActions,
    store: new IncidentStore(redis, t.keys),
    async executor() {
      const service = await startService('executor', {
        REDIS_URL: server.url,
        HERMES_PREFIX: prefix,
        POLICY_FILE: policyFile,
        APPROVAL_SWEEP_SECONDS: '1',
      });
      services.push(service);
      return service;
    },
    async close() {
      for (const service of services) await service.stop();
      await agentActions.close();
      redis.disconnect();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const restart = (incidentId: string, actionId: string): ActionJob => ({
  actionId,
  incidentId,
  tool: 'restart_service',
  args: { service: 'api-gateway', host: 'app-server-01', reason: 'crashed' },
  requestedBy: 'agent',
});

const crash = (t: TestRedis, region: string) =>
  openIncident(t, { alertname: 'ServiceDown', service: 'api-gateway', labels: { region } });

describe.concurrent('change budgets across executor processes', () => {
  it('1,000 concurrent requests from 1,000 incidents, two executors, a budget of 2: exactly 2 ran', async () => {
    // One region, so region-by-region does not narrow it: the budget alone decides.
    const w = await world('budget-race', { maxInFlight: 2, maxInFlightFleet: 2 }, 0);
    try {
      await Promise.all([w.executor(), w.executor()]);
      // A slot is an incident's: 1,000 requests from 1,000 incidents, all for the same resource.
      const incidents: string[] = [];
      for (let i = 0; i < 1_000; i++) incidents.push(await crash(w.t, 'eu-west'));
      await w.agentActions.addBulk(
        incidents.map((incidentId, i) => {
          const job = restart(incidentId, `race-${i}`);
          return { name: 'action', data: job, opts: { jobId: job.actionId } };
        }),
      );
      await eventually(
        async () => (await w.agentActions.getJobCounts('completed')).completed === 1_000,
        'all 1,000 decisions',
        120_000,
      );
      // The command's own record: what really ran, whoever decided it.
      expect(markerLines(w.marker).filter((line) => line.startsWith('start'))).toHaveLength(2);
      const decisions = new Map<string, number>();
      for (const id of incidents)
        for (const action of (await w.store.get(id))?.actions ?? [])
          decisions.set(action.decision, (decisions.get(action.decision) ?? 0) + 1);
      expect(Object.fromEntries(decisions)).toEqual({ executed: 2, held: 998 });
      expect(await verifyAuditChain(w.t.redis, w.t.keys)).toMatchObject({ ok: true, entries: 1_000 });
    } finally {
      await w.close();
    }
  }, 180_000);

  it('kill -9 of an executor holding a slot: the slot frees when its lease ends and the held change runs by itself', async () => {
    const w = await world('budget-kill', { maxInFlight: 1, maxInFlightFleet: 1, leaseSeconds: 20 }, 5);
    try {
      const first = await w.executor();
      const eu = await crash(w.t, 'eu-west');
      await w.agentActions.add('action', restart(eu, 'kill-1'), { jobId: 'kill-1' });
      await eventually(async () => markerLines(w.marker).length === 1, 'the first restart to start');
      await first.crash();
      // Another executor: the dead one's slot is still leased, so the next change is held ...
      await w.executor();
      const us = await crash(w.t, 'us-east');
      await w.agentActions.add('action', restart(us, 'kill-2'), { jobId: 'kill-2' });
      const held = await eventually(
        async () => (await w.store.getAction(us, 'kill-2'))?.decision === 'held' || false,
        'the second change to be held',
        20_000,
      );
      expect(held).toBe(true);
      // ... until the lease ends: then it runs by itself, and the killed change is never run again.
      await eventually(
        async () => markerLines(w.marker).filter((line) => line.startsWith('start')).length >= 2,
        'the held change to start after the lease',
        40_000,
      );
      await eventually(
        async () => (await w.store.getAction(us, 'kill-2'))?.decision === 'executed',
        'the released change to be recorded as run',
        20_000,
      );
      expect(markerLines(w.marker).filter((line) => line.startsWith('start'))).toHaveLength(2);
    } finally {
      await w.close();
    }
  }, 120_000);
});
