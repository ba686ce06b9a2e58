import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IncidentStore } from '../../../shared/incidents.js';
import { keyspace } from '../../../shared/keys.js';
import { eventually, type TestRedis, uniquePrefix } from '../../../test/support/redis.js';
import { type LocalRedis, startRedisServer } from '../../../test/support/redis-server.js';
import { post, startTestIngest } from './harness.js';

const firing = JSON.parse(readFileSync('test/fixtures/alertmanager-0.25-webhook-firing.json', 'utf8'));
let server: LocalRedis;

beforeAll(async () => {
  server = await startRedisServer(['--appendonly', 'yes']);
});
afterAll(async () => {
  await server.stop();
});

it('answers 503 while Redis is down (so Alertmanager retries) and accepts again once it is back', async () => {
  const prefix = uniquePrefix();
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  const t: TestRedis = {
    url: server.url,
    prefix,
    keys: keyspace(prefix),
    redis,
    close: async () => redis.disconnect(),
  };
  const ingest = await startTestIngest(t);
  try {
    const { port, dir } = server;
    await server.stop({ keepDir: true });
    const down = await post(ingest.url, firing);
    expect(down.status).toBe(503);
    expect((await down.json()).error).toMatch(/retry/);
    expect((await fetch(`${ingest.url}/readyz`)).status).toBe(503);

    server = await startRedisServer(['--appendonly', 'yes'], { port, dir });
    const back = await eventually(async () => {
      const res = await post(ingest.url, firing);
      return res.status === 202 ? res.json() : null;
    }, 'ingest to accept again');
    expect(back).toMatchObject({ accepted: 1, duplicates: 0 });
    expect((await new IncidentStore(redis, t.keys).get(back.incidents[0]))?.alertCount).toBe(1);
  } finally {
    await ingest.close();
    await t.close();
  }
});
