import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyspace } from '../../shared/keys.js';
import { eventually } from '../support/redis.js';
import { type LocalRedis, startRedisServer } from '../support/redis-server.js';
import { account } from './accounting.js';
import { type RunningService, startService } from './processes.js';
import { sendWithRetries, stormAlerts, webhookJson } from './sender.js';

const ALERTS = 5_000;
const BATCH = 50;
const REDIS_ARGS = ['--appendonly', 'yes', '--appendfsync', 'always'];
const CONNECTIONS = 4;

describe('Redis killed (kill -9, AOF on) in the middle of a 5,000-alert storm', () => {
  let redis: LocalRedis;
  let ingest: RunningService;
  const prefix = 'relstorm';

  beforeAll(async () => {
    redis = await startRedisServer(REDIS_ARGS);
    ingest = await startService('ingest', { REDIS_URL: redis.url, HERMES_PREFIX: prefix, LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    await ingest?.stop();
    await redis?.stop({ keepDir: true });
    if (redis) rmSync(redis.dir, { recursive: true, force: true });
  });

  it('answers 503 while Redis is down; after retries every alert is on exactly one incident', async () => {
    const alerts = stormAlerts(ALERTS);
    const batches: string[] = [];
    for (let i = 0; i < alerts.length; i += BATCH) batches.push(webhookJson(alerts.slice(i, i + BATCH)));

    let outage: Promise<void> | undefined;
    let refusedWhileDown: number | undefined;
    const restart = async () => {
      const exited = new Promise((resolve) => redis.process.once('exit', resolve));
      redis.process.kill('SIGKILL');
      await exited;
      refusedWhileDown = 0;
      // Down until every sender has had its batch refused a few times.
      await eventually(
        async () => (refusedWhileDown ?? 0) >= 5 * CONNECTIONS,
        'batches refused while Redis is down',
        30_000,
      );
      redis = await startRedisServer(REDIS_ARGS, { port: redis.port, dir: redis.dir });
    };
    const stats = await sendWithRetries(`${ingest.url}/webhooks/alertmanager`, batches, {
      connections: CONNECTIONS,
      deadline: Date.now() + 90_000,
      onBatch: (i) => {
        if (i === Math.floor(batches.length / 3)) outage = restart();
      },
      onReply: (status) => {
        if (status === 503 && refusedWhileDown !== undefined) refusedWhileDown++;
      },
    });
    await outage;
    console.log(
      `[reliability] storm: ${ALERTS} alerts in ${batches.length} batches, ${stats.sent} posts, statuses ${JSON.stringify(stats.statuses)}`,
    );

    expect(stats.statuses['503'] ?? 0).toBeGreaterThan(0);
    expect(Object.keys(stats.statuses).sort()).toEqual(['202', '503']);

    const client = new Redis(redis.url);
    try {
      const result = await account(client, keyspace(prefix));
      expect(result.alertCount).toBe(ALERTS);
      expect(result.holders.size).toBe(ALERTS);
      for (const alert of alerts) expect(result.holders.get(alert.fingerprint)).toBe(1);
      expect(result.backlogWithoutJob).toEqual([]);
      console.log(`[reliability] storm: ${result.incidents} incidents hold ${result.alertCount} alerts`);
    } finally {
      client.disconnect();
    }
  }, 120_000);
});
