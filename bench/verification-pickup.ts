import { Redis } from 'ioredis';
import { logDir, startTestTriage } from '../services/triage/test/harness.js';
import { IncidentStore } from '../shared/incidents.js';
import { keyspace } from '../shared/keys.js';
import { createQueue, QUEUE } from '../shared/queues.js';
import type { TriageJob } from '../shared/schemas/jobs.js';
import { startExecutorHarness } from '../test/support/executor-harness.js';
import { startFakePrometheus } from '../test/support/fake-prometheus.js';
import { openIncident } from '../test/support/incidents.js';
import { eventually } from '../test/support/redis.js';
import { startRedisServer } from '../test/support/redis-server.js';

export interface VerificationPickup {
  fixes: number;
  pickupMs: number;
  concurrency: number;
}

const FIXES = 50;
const CONCURRENCY = 4;

/**
 * 50 level-1 fixes whose alerts keep firing (each under verification for its whole window), then
 * one level-3 DatabaseFailover: how long until triage has escalated it. Verification runs as
 * delayed re-check jobs, so it holds none of the CONCURRENCY worker slots.
 */
export async function benchVerificationPickup(): Promise<VerificationPickup> {
  const server = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'everysec']);
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  const prefix = 'verifybench';
  const t = { url: server.url, prefix, keys: keyspace(prefix), redis, close: async () => {} };
  const h = await startExecutorHarness({ t, globalCap: 1_000 });
  const prometheus = await startFakePrometheus(() => [{ metric: {}, value: 1 }]);
  const triage = await startTestTriage(t, {
    PLANNER: 'runbook',
    PROMETHEUS_URL: prometheus.url,
    LOG_DIR: logDir({}),
    TRIAGE_CONCURRENCY: String(CONCURRENCY),
    VERIFY_WINDOW_SECONDS: '600',
    VERIFY_INTERVAL_MS: '1000',
  });
  const queue = createQueue<TriageJob>(QUEUE.triage, redis, t.keys.bullPrefix);
  try {
    const fixes: string[] = [];
    for (let i = 0; i < FIXES; i++)
      fixes.push(
        await openIncident(t, { alertname: 'ServiceDown', service: `svc-${i}`, severity: 'critical' }),
      );
    await eventually(
      async () => {
        const waiting = await queue.getJobs(['delayed', 'prioritized', 'waiting']);
        const verifying = new Set(waiting.filter((j) => j.name === 'verify').map((j) => j.data.incidentId));
        return fixes.every((id) => verifying.has(id));
      },
      'every fix under verification',
      120_000,
    );
    const store = new IncidentStore(redis, t.keys);
    const opened = Date.now();
    const failover = await openIncident(t, { alertname: 'DatabaseFailover', severity: 'critical' });
    await eventually(async () => (await store.getStatus(failover)) === 'escalated', 'the escalation', 60_000);
    return { fixes: FIXES, pickupMs: Date.now() - opened, concurrency: CONCURRENCY };
  } finally {
    await queue.close();
    await triage.close();
    await prometheus.close();
    await h.close();
    redis.disconnect();
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  console.log(JSON.stringify(await benchVerificationPickup(), null, 2));
