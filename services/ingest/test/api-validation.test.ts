import { afterAll, beforeAll, expect, it } from 'vitest';
import { openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import type { IngestHandle } from '../service.js';
import { startTestIngest } from './harness.js';

const TOKEN = 'api-validation-token';
let t: TestRedis;
let ingest: IngestHandle;

beforeAll(async () => {
  t = await openTestRedis();
  ingest = await startTestIngest(t, { ADMIN_TOKEN: TOKEN });
});
afterAll(async () => {
  await ingest.close();
  await t.close();
});

const call = (method: string, path: string, body?: string, type = 'application/json') =>
  fetch(`${ingest.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': type }) },
    body,
  });

it('answers every invalid query or body with 400, the error and the zod issues, and changes nothing', async () => {
  const cases: [string, string, string | undefined, string][] = [
    ['GET', '/api/incidents?limit=0', undefined, 'invalid query'],
    ['GET', '/api/incidents?status=sleeping', undefined, 'invalid query'],
    ['GET', '/api/audit/verify?seq=3', undefined, 'invalid query'],
    ['GET', '/api/audit/verify?maxEntries=0', undefined, 'invalid query'],
    ['GET', '/api/audit/positions?after=%2B', undefined, 'invalid query'],
    ['POST', '/api/automation/pause', '{}', 'invalid body'],
    ['POST', '/api/automation/pause', '{"by":"has spaces"}', 'invalid body'],
    ['POST', '/api/automation/breaker/reset', '{"by":"alice"}', 'invalid body'],
    ['POST', '/api/approvals/apr_x/approve', '{"by":""}', 'invalid body'],
    ['POST', '/api/incidents/inc_x/acknowledge', '{"by":42}', 'invalid body'],
  ];
  for (const [method, path, body, error] of cases) {
    const res = await call(method, path, body);
    expect(res.status, `${method} ${path} ${body ?? ''}`).toBe(400);
    const reply = (await res.json()) as { error: string; details: unknown[] };
    expect(reply.error).toBe(error);
    expect(reply.details.length).toBeGreaterThan(0);
  }
  expect(await t.redis.exists(t.keys.paused)).toBe(0);
});

it('says so when a body is not JSON, and when it does not say it is', async () => {
  const malformed = await call('POST', '/api/automation/pause', '{"by": "alice"');
  expect(malformed.status).toBe(400);
  expect(await malformed.json()).toEqual({ error: 'Malformed JSON in request body' });
  const untyped = await call('POST', '/api/automation/pause', '{"by":"alice"}', 'text/plain');
  expect(untyped.status).toBe(400);
  expect(((await untyped.json()) as { error: string }).error).toBe('invalid body');
  expect(await t.redis.exists(t.keys.paused)).toBe(0);
});

it('has no incident command but acknowledge, resolve and rerun', async () => {
  const res = await call('POST', '/api/incidents/inc_x/delete', '{"by":"alice"}');
  expect(res.status).toBe(404);
});
