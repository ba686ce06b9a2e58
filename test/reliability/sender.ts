import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { webhookEnvelope } from '../../bin/webhook.js';
import type { Alert } from '../../shared/schemas/alertmanager.js';
import { post } from '../support/http.js';

/** `count` distinct firing alerts spread over `services` services. */
export function stormAlerts(count: number, services = 200): Alert[] {
  const startsAt = new Date().toISOString();
  const run = randomBytes(3).toString('hex');
  return Array.from({ length: count }, (_, i) => ({
    status: 'firing',
    labels: {
      alertname: ['ServiceDown', 'HighLatency', 'QueueBacklog', 'DiskSpaceLow'][i % 4] as string,
      service: `svc-${i % services}`,
      instance: `node-${i % 17}`,
      severity: i % 25 === 0 ? 'critical' : 'warning',
      run,
    },
    annotations: { summary: `storm alert ${i}` },
    startsAt,
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.test/graph',
    fingerprint: `${run}${i.toString(16).padStart(6, '0')}`,
  }));
}

export function webhookJson(alerts: Alert[]): string {
  return JSON.stringify(webhookEnvelope(alerts));
}

export interface RetryStats {
  sent: number;
  statuses: Record<string, number>;
  accepted: number;
  duplicates: number;
}

/**
 * What Alertmanager does: posts each batch and retries it (after a short pause) until it gets a 2xx,
 * over `connections` parallel senders. Gives up only at `deadline`.
 */
export async function sendWithRetries(
  url: string,
  batches: string[],
  options: {
    connections: number;
    deadline: number;
    headers?: Record<string, string>;
    onBatch?: (i: number) => void;
    /** Each answer's status (0: no answer), as it comes. */
    onReply?: (status: number) => void;
  },
): Promise<RetryStats> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const stats: RetryStats = { sent: 0, statuses: {}, accepted: 0, duplicates: 0 };
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (next < batches.length) {
        const body = batches[next++] as string;
        for (;;) {
          if (Date.now() > options.deadline) throw new Error('sender gave up: deadline passed');
          const result = await post(agent, url, body, options.headers);
          stats.sent++;
          stats.statuses[result.status] = (stats.statuses[result.status] ?? 0) + 1;
          options.onReply?.(result.status);
          if (result.status === 202) {
            const reply = JSON.parse(result.body) as { accepted: number; duplicates: number };
            stats.accepted += reply.accepted;
            stats.duplicates += reply.duplicates;
            break;
          }
          if (result.status !== 503 && result.status !== 0)
            throw new Error(`unexpected ${result.status}: ${result.body}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        options.onBatch?.(done++);
      }
    }),
  );
  agent.destroy();
  return stats;
}
