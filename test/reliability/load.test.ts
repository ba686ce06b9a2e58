import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyspace } from '../../shared/keys.js';
import { post } from '../support/http.js';
import { type LocalRedis, startRedisServer } from '../support/redis-server.js';
import { account } from './accounting.js';
import { type RunningService, startService } from './processes.js';
import { stormAlerts, webhookJson } from './sender.js';

/** npm test: 20 s at 2,500 alerts/s; the full run: RELIABILITY_LOAD_SECONDS=60 RELIABILITY_LOAD_RATE=5000. */
const SECONDS = Number(process.env.RELIABILITY_LOAD_SECONDS ?? 20);
const RATE = Number(process.env.RELIABILITY_LOAD_RATE ?? 2_500);
const BATCH = 100;
const CONNECTIONS = 4;
/** Allowed RSS growth of the ingest process between the first and the last third of the run. */
const MEMORY_BOUND_MB = 64;

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? 0) / 1024;
}

describe(`sustained webhook load: ${SECONDS} s at ${RATE} alerts/s`, () => {
  let redis: LocalRedis;
  let ingest: RunningService;
  const prefix = 'relload';

  beforeAll(async () => {
    redis = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'everysec']);
    ingest = await startService('ingest', { REDIS_URL: redis.url, HERMES_PREFIX: prefix, LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    await ingest?.stop();
    await redis?.stop();
  });

  it(
    'no errors, bounded memory, every alert accounted for',
    async () => {
      const total = SECONDS * RATE;
      const alerts = stormAlerts(total, 500);
      const batches: string[] = [];
      for (let i = 0; i < alerts.length; i += BATCH) batches.push(webhookJson(alerts.slice(i, i + BATCH)));
      const pid = ingest.child.pid as number;
      const samples: number[] = [];
      const sampler = setInterval(() => samples.push(rssMb(pid)), 500);

      const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
      const url = `${ingest.url}/webhooks/alertmanager`;
      const statuses: Record<string, number> = {};
      let accepted = 0;
      let behind = 0;
      const started = Date.now();
      let next = 0;
      try {
        await Promise.all(
          Array.from({ length: CONNECTIONS }, async () => {
            while (next < batches.length) {
              const index = next++;
              // Paced: batch i is due at i * BATCH / RATE seconds after the start.
              const due = started + (index * BATCH * 1000) / RATE;
              const wait = due - Date.now();
              if (wait > 0) await new Promise((r) => setTimeout(r, wait));
              else if (wait < -1_000) behind++;
              const result = await post(agent, url, batches[index] as string);
              statuses[result.status] = (statuses[result.status] ?? 0) + 1;
              if (result.status === 202)
                accepted += (JSON.parse(result.body) as { accepted: number }).accepted;
            }
          }),
        );
      } finally {
        clearInterval(sampler);
        agent.destroy();
      }
      const elapsed = (Date.now() - started) / 1000;
      const third = Math.max(1, Math.floor(samples.length / 3));
      const early = Math.max(...samples.slice(0, third));
      const late = Math.max(...samples.slice(-third));
      console.log(
        `[reliability] load: ${total} alerts in ${elapsed.toFixed(1)} s (${Math.round(total / elapsed)}/s, target ${RATE}/s), ` +
          `statuses ${JSON.stringify(statuses)}, batches >1 s behind schedule ${behind}, ` +
          `ingest RSS ${early.toFixed(0)} MB → ${late.toFixed(0)} MB (peak ${Math.max(...samples).toFixed(0)} MB)`,
      );

      expect(statuses).toEqual({ 202: batches.length });
      expect(accepted).toBe(total);
      expect(late - early).toBeLessThan(MEMORY_BOUND_MB);
      const client = new Redis(redis.url);
      try {
        const result = await account(client, keyspace(prefix));
        expect(result.alertCount).toBe(total);
        expect(result.holders.size).toBe(total);
        expect([...result.holders.values()].every((n) => n === 1)).toBe(true);
      } finally {
        client.disconnect();
      }
    },
    (SECONDS + 90) * 1000,
  );
});
