import { afterEach, expect, it } from 'vitest';
import { createLogger } from '../../../shared/logger.js';
import { type FakePrometheus, startFakePrometheus } from '../../../test/support/fake-prometheus.js';
import { KnownTargets } from '../fleet/known-targets.js';

let prometheus: FakePrometheus | undefined;
afterEach(async () => {
  await prometheus?.close();
});

const logger = createLogger('ingest', 'silent');

it("learns a job's target count from Prometheus in the background, at most once a minute, never waiting", async () => {
  let targets = 8;
  prometheus = await startFakePrometheus((query) =>
    query === 'count(up{job="api-gateway"})' ? [{ metric: {}, value: targets }] : [],
  );
  const known = new KnownTargets(prometheus.url, logger, { refreshMs: 60_000 });
  const start = Date.now();
  expect(known.count('api-gateway', start)).toBeUndefined();
  await known.settled();
  expect(known.count('api-gateway', start + 1_000)).toBe(8);
  targets = 12;
  expect(known.count('api-gateway', start + 30_000)).toBe(8);
  await known.settled();
  expect(prometheus.queries).toEqual(['count(up{job="api-gateway"})']);
  expect(known.count('api-gateway', start + 61_000)).toBe(8);
  await known.settled();
  expect(known.count('api-gateway', start + 62_000)).toBe(12);
  // A job Prometheus has no series for stays unknown: the fraction rule is skipped.
  expect(known.count('nothing-here', start)).toBeUndefined();
  await known.settled();
  expect(known.count('nothing-here', start + 1)).toBeUndefined();
});

it('escapes the job in PromQL, and keeps the last count while Prometheus does not answer', async () => {
  prometheus = await startFakePrometheus(() => [{ metric: {}, value: 3 }]);
  const known = new KnownTargets(prometheus.url, logger, { refreshMs: 1, timeoutMs: 200 });
  known.count('a"b\\c', 0);
  await known.settled();
  expect(prometheus.queries).toEqual(['count(up{job="a\\"b\\\\c"})']);
  expect(known.count('a"b\\c', 10)).toBe(3);
  await prometheus.close();
  prometheus = undefined;
  expect(known.count('a"b\\c', 20)).toBe(3);
  await known.settled();
  expect(known.count('a"b\\c', 20)).toBe(3);
});
