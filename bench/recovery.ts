import { Redis } from 'ioredis';
import { IncidentStore } from '../shared/incidents.js';
import { keyspace } from '../shared/keys.js';
import { demoUp, startSshStack } from '../test/e2e/ssh-stack.js';
import type { DemoService } from '../test/e2e/stack.js';
import { eventually } from '../test/support/redis.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { percentile } from './services.js';

export interface RecoveryPhase {
  p50Ms: number;
  p99Ms: number;
}

export interface Recovery {
  cycles: number;
  /** Crash → Prometheus's `up` for the demo reads 0 (scrape interval). */
  detection: RecoveryPhase;
  /** Prometheus sees it down → the incident exists in Hermes (rule evaluation, Alertmanager, webhook). */
  alerting: RecoveryPhase;
  /** Incident opened → the restart was applied on the host (triage, runbook, executor, SSH, helper). */
  hermes: RecoveryPhase;
  /** Restart applied → incident resolved on its own series' verdict. */
  verification: RecoveryPhase;
  total: RecoveryPhase;
}

const CYCLES = 10;

function phase(samples: number[]): RecoveryPhase {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
}

/**
 * Time to recovery on the real stack: a demo service on a real sshd host, scraped by a real
 * Prometheus (1 s scrape and evaluation), alerting through a real Alertmanager (1 s group_wait),
 * fixed by Hermes over SSH with the runbook planner, verified on its own series. CYCLES crashes.
 */
export async function benchRecovery(): Promise<Recovery> {
  const redisServer = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'everysec']);
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const prefix = 'recoverybench';
  const s = await startSshStack({
    redis: { url: redisServer.url, prefix, keys: keyspace(prefix), redis, close: async () => {} },
    hosts: 1,
    targeted: [0],
    policyEdit: (policy) => {
      policy.limits.stateChangesPerHour = 1_000_000;
      const rate = policy.tools.restart_service?.rateLimit;
      if (rate) rate.max = 1_000_000;
    },
  });
  const demo = s.demos[0] as DemoService;
  const store = new IncidentStore(s.t.redis, s.t.keys);
  const samples = { detection: [], alerting: [], hermes: [], verification: [], total: [] } as Record<
    keyof Omit<Recovery, 'cycles'>,
    number[]
  >;
  try {
    await demo.start();
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      await eventually(async () => (await demoUp(s.stack, demo)) === '1', 'the demo to be up', 60_000);
      // Let the previous incident settle so the next crash opens a new one.
      await eventually(
        async () => (await store.list({ limit: 1 })).incidents.every((i) => i.status === 'resolved'),
        'the previous incident to resolve',
        60_000,
      );
      const known = new Set((await store.list({ limit: 50 })).incidents.map((i) => i.id));
      const crashedAt = Date.now();
      demo.crash();
      const detectedAt = await eventually(
        async () => ((await demoUp(s.stack, demo)) === '0' ? Date.now() : null),
        'Prometheus to see the crash',
        30_000,
      );
      const opened = await eventually(
        async () => (await store.list({ limit: 5 })).incidents.find((i) => !known.has(i.id)),
        'the incident',
        60_000,
      );
      const restart = await eventually(
        async () =>
          (await store.get(opened.id))?.actions.find(
            (a) => a.tool === 'restart_service' && a.decision === 'executed',
          ),
        'the restart',
        60_000,
      );
      const resolved = await eventually(
        async () => {
          const incident = await store.get(opened.id);
          const verdict = incident?.timeline.find((e) => e.type === 'summary' && e.verified === true);
          return incident?.status === 'resolved' && verdict ? verdict : null;
        },
        'the verified resolution',
        120_000,
      );
      const createdAt = Date.parse(opened.createdAt);
      const restartedAt = Date.parse(restart.at);
      const verifiedAt = Date.parse(resolved.at);
      samples.detection.push(detectedAt - crashedAt);
      samples.alerting.push(createdAt - detectedAt);
      samples.hermes.push(restartedAt - createdAt);
      samples.verification.push(verifiedAt - restartedAt);
      samples.total.push(verifiedAt - crashedAt);
    }
    return {
      cycles: CYCLES,
      detection: phase(samples.detection),
      alerting: phase(samples.alerting),
      hermes: phase(samples.hermes),
      verification: phase(samples.verification),
      total: phase(samples.total),
    };
  } finally {
    await s.stop();
    redis.disconnect();
    await redisServer.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  console.log(JSON.stringify(await benchRecovery(), null, 2));
