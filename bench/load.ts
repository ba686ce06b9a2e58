import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import type { Alert } from '../shared/schemas/alertmanager.js';
import { post } from '../test/support/http.js';
import { percentile } from './services.js';

export interface LoadResult {
  requests: number;
  alerts: number;
  errors: number;
  seconds: number;
  alertsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** An alert as Alertmanager holds it; the webhook adds `status`. */
export type BenchAlert = Omit<Alert, 'status'>;

/**
 * `count` distinct alerts over `services` services, and the order to send them in: each batch of
 * `batchSize` is half new alerts and half alerts already sent (what HA peers and repeat_interval do).
 */
export function makeBatches(count: number, batchSize: number, services = 500): BenchAlert[][] {
  const startsAt = new Date().toISOString();
  const alerts: BenchAlert[] = Array.from({ length: count }, (_, i) => ({
    labels: {
      alertname: ['ServiceDown', 'HighLatency', 'QueueBacklog', 'DiskSpaceLow'][i % 4] as string,
      service: `svc-${i % services}`,
      instance: `node-${i % 13}`,
      severity: i % 20 === 0 ? 'critical' : 'warning',
      run: randomBytes(3).toString('hex'),
    },
    annotations: { description: `bench alert ${i}`, summary: 'load test' },
    startsAt,
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.bench/graph',
    fingerprint: randomBytes(8).toString('hex'),
  }));
  const half = batchSize / 2;
  const batches: BenchAlert[][] = [];
  for (let start = 0; start < alerts.length; start += half) {
    const fresh = alerts.slice(start, start + half);
    const repeats = start === 0 ? alerts.slice(0, half) : alerts.slice(start - half, start);
    batches.push([...fresh, ...repeats]);
  }
  return batches;
}

/** Sends the bodies over `connections` keep-alive connections, one request at a time on each. */
export async function runLoad(
  url: string,
  bodies: string[],
  alertsPerBody: number,
  connections: number,
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const send = async (body: string) => (await post(agent, url, body, headers)).status;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++] as string;
        const t0 = process.hrtime.bigint();
        const status = await send(body).catch(() => 0);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (status < 200 || status >= 300) errors++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: bodies.length,
    alerts: bodies.length * alertsPerBody,
    errors,
    seconds,
    alertsPerSecond: (bodies.length * alertsPerBody) / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}
