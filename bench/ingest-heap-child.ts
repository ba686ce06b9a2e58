/**
 * Run by bench/ingest-heap.ts under `node --expose-gc`: ingest in this process, storms of new alerts
 * through its webhook, and the V8 heap in use after a full collection following each storm.
 * Prints one JSON line: { heapMiB: number[] }.
 */
import { randomBytes } from 'node:crypto';
import { webhookEnvelope } from '../bin/webhook.js';
import { ingestEnvSchema } from '../services/ingest/env.js';
import { startIngest } from '../services/ingest/service.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { runLoad } from './load.js';

const STORMS = 12;
const ALERTS = 10_000;
const BATCH = 100;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function storm(): string[] {
  const startsAt = new Date().toISOString();
  const bodies: string[] = [];
  for (let first = 0; first < ALERTS; first += BATCH) {
    const alerts = Array.from({ length: BATCH }, (_, k) => {
      const i = first + k;
      return {
        status: 'firing' as const,
        labels: {
          alertname: ['ServiceDown', 'HighLatency', 'QueueBacklog', 'DiskSpaceLow'][i % 4] as string,
          service: `svc-${i % 500}`,
          pod: `pod-${i}`,
          severity: 'warning',
        },
        annotations: { summary: 'heap bench' },
        startsAt,
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.bench/graph',
        fingerprint: randomBytes(8).toString('hex'),
      };
    });
    bodies.push(JSON.stringify(webhookEnvelope(alerts)));
  }
  return bodies;
}

const redis = await startRedisServer([]);
const ingest = await startIngest(
  ingestEnvSchema.parse({
    REDIS_URL: redis.url,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    HERMES_PREFIX: 'heap',
  }),
);
try {
  const heapMiB: number[] = [];
  for (let i = 0; i < STORMS; i++) {
    await runLoad(`${ingest.url}/webhooks/alertmanager`, storm(), BATCH, 4);
    gc();
    gc();
    heapMiB.push(process.memoryUsage().heapUsed / 2 ** 20);
  }
  process.stdout.write(`${JSON.stringify({ heapMiB })}\n`);
} finally {
  await ingest.close();
  await redis.stop();
}
