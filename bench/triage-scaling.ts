import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { keyspace } from '../shared/keys.js';
import { QUEUE } from '../shared/queues.js';
import { call, delayed, startFakeOpenAI, text } from '../test/support/fake-openai.js';
import { openIncident } from '../test/support/incidents.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { type ServiceProcess, spawnService, waitForWorkers } from './services.js';

export interface ScalingPoint {
  processes: number;
  incidents: number;
  seconds: number;
  incidentsPerSecond: number;
  /** Throughput over (processes × the one-process throughput). */
  efficiency: number;
}

const MODEL_DELAY_MS = 200;
const INCIDENTS_PER_PROCESS = 32;
const CONCURRENCY = 4;

/**
 * Incidents/s with 1, 2 and 4 triage worker processes (TRIAGE_CONCURRENCY=4 each) against a fake
 * model answering every turn after 200 ms: one diagnostic tool call, then a diagnosis (no fix, so
 * the incident escalates). Each run gets its own key prefix and its own share of incidents, opened
 * through the real intake once the workers are up, timed until the last one has escalated.
 */
export async function benchTriageScaling(counts = [1, 2, 4]): Promise<ScalingPoint[]> {
  const redisServer = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'everysec']);
  const model = await startFakeOpenAI((_request, turn) =>
    turn === 0
      ? delayed(MODEL_DELAY_MS, call('get_service_logs', { service: 'api', lines: 20 }))
      : delayed(MODEL_DELAY_MS, text('Diagnosis: latency follows a slow dependency; no change needed.')),
  );
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const points: ScalingPoint[] = [];
  try {
    for (const processes of counts) {
      const prefix = `scale-${processes}`;
      const keys = keyspace(prefix);
      const queue = new Queue(QUEUE.triage, { connection: redis, prefix: keys.bullPrefix });
      const workers: ServiceProcess[] = [];
      try {
        for (let i = 0; i < processes; i++)
          workers.push(
            await spawnService('triage', {
              REDIS_URL: redisServer.url,
              HERMES_PREFIX: prefix,
              LOG_LEVEL: 'error',
              PLANNER: 'llm',
              HERMES_BASE_URL: model.url,
              HERMES_MODEL: 'fake-hermes',
              TRIAGE_CONCURRENCY: String(CONCURRENCY),
            }),
          );
        await waitForWorkers(queue, processes);
        const incidents = INCIDENTS_PER_PROCESS * processes;
        const t = { url: redisServer.url, prefix, keys, redis, close: async () => {} };
        const started = performance.now();
        await Promise.all(
          Array.from({ length: incidents }, (_, i) =>
            openIncident(t, { alertname: 'HighLatency', service: `api-${i}`, instance: `api-${i}:8080` }),
          ),
        );
        const deadline = Date.now() + 120_000;
        while ((await redis.zcard(keys.incidentStatusIndex('escalated'))) < incidents) {
          if (Date.now() > deadline) throw new Error(`${processes} triage processes did not finish`);
          await new Promise((r) => setTimeout(r, 20));
        }
        const seconds = (performance.now() - started) / 1000;
        const incidentsPerSecond = incidents / seconds;
        const single = points[0]?.incidentsPerSecond ?? incidentsPerSecond;
        points.push({
          processes,
          incidents,
          seconds,
          incidentsPerSecond,
          efficiency: incidentsPerSecond / (processes * single),
        });
      } finally {
        await Promise.all(workers.map((worker) => worker.stop()));
        await queue.close();
      }
    }
    return points;
  } finally {
    redis.disconnect();
    await model.close();
    await redisServer.stop();
  }
}
