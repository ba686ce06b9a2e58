/**
 * Redis at maxmemory (noeviction) while a webhook arrives: the intake script is refused at its first
 * write, so the batch leaves nothing behind and Alertmanager is told to retry (503); once memory is
 * free the retry lands whole.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { IngestHandle } from '../../services/ingest/service.js';
import { post, startTestIngest } from '../../services/ingest/test/harness.js';
import { IncidentStore } from '../../shared/incidents.js';
import { keyspace } from '../../shared/keys.js';
import { webhookBody } from '../support/incidents.js';
import { type LocalRedis, startRedisServer } from '../support/redis-server.js';

const prefix = 'fullredis';
const keys = keyspace(prefix);
let server: LocalRedis;
let admin: Redis;
let ingest: IngestHandle;

beforeAll(async () => {
  server = await startRedisServer(['--maxmemory', '8mb', '--maxmemory-policy', 'noeviction']);
  admin = new Redis(server.url, { maxRetriesPerRequest: null });
  ingest = await startTestIngest(
    { url: server.url, prefix, keys, redis: admin, close: async () => {} },
    { LOG_LEVEL: 'silent' },
  );
});
afterAll(async () => {
  await ingest?.close();
  admin?.disconnect();
  await server?.stop();
});

/** The test's keys, less the queue metadata BullMQ writes when a queue opens. */
const ownKeys = async () =>
  (await admin.keys(`${keys.bullPrefix}:*`)).filter((key) => !key.endsWith(':meta')).sort();

it('refuses a batch whole with 503 while Redis is full, and takes it whole once there is room', async () => {
  const batch = webhookBody(
    Array.from({ length: 20 }, (_, i) => ({
      alertname: 'ServiceDown',
      service: `svc-${i % 4}`,
      instance: `app-${i}`,
      annotations: { description: 'x'.repeat(2_000) },
    })),
  );
  const before = await ownKeys();
  // Past maxmemory: a script that started under the limit may go over it (as the intake script could).
  await admin.eval("for i = 1, 10000 do redis.call('SET', 'ballast:' .. i, string.rep('b', 1024)) end", 0);
  const refused = await post(ingest.url, batch);
  expect(refused.status).toBe(503);
  expect(await refused.json()).toEqual({ error: 'storage full, retry later' });
  expect(await ownKeys()).toEqual(before);

  await admin.eval("for i = 1, 10000 do redis.call('DEL', 'ballast:' .. i) end", 0);
  const taken = await post(ingest.url, batch);
  expect(taken.status).toBe(202);
  const reply = (await taken.json()) as { accepted: number; incidents: string[] };
  expect(reply.accepted).toBe(20);
  const store = new IncidentStore(admin, keys);
  const incidents = await Promise.all(reply.incidents.map((id) => store.get(id)));
  expect(incidents.reduce((sum, incident) => sum + (incident?.alertCount ?? 0), 0)).toBe(20);
});
