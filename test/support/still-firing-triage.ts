import { startTestTriage } from '../../services/triage/test/harness.js';
import { startFakePrometheus } from './fake-prometheus.js';
import { dropWaitingTriage } from './queues.js';
import type { TestRedis } from './redis.js';

/**
 * Triage (runbook planner) on `targetsFile`, whose Prometheus says the alert still fires after any
 * fix. Earlier tests' incidents wait in the triage queue (no triage ran then): they are dropped
 * first, so this triage sees only its own.
 */
export async function startStillFiringTriage(t: TestRedis, targetsFile: string) {
  await dropWaitingTriage(t);
  const prometheus = await startFakePrometheus(() => [{ metric: {}, value: 1 }]);
  const triage = await startTestTriage(t, {
    PLANNER: 'runbook',
    PROMETHEUS_URL: prometheus.url,
    TARGETS_FILE: targetsFile,
  });
  return {
    async close() {
      await triage.close();
      await prometheus.close();
    },
  };
}
