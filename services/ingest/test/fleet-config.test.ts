import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startFakePrometheus } from '../../../test/support/fake-prometheus.js';
import { webhookBody } from '../../../test/support/incidents.js';
import { eventually, openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import { post, startTestIngest } from './harness.js';

let t: TestRedis;
let dir: string;
beforeEach(async () => {
  t = await openTestRedis();
  dir = mkdtempSync(join(tmpdir(), 'hermes-widespread-'));
});
afterEach(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

function policy(text: string): string {
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, text);
  return file;
}

it('stops ingest on a bad widespread block, naming the file, line and problem', async () => {
  const file = policy('version: 1\nlimits: { stateChangesPerHour: 30 }\nwidespread:\n  minRegions: 1\n');
  await expect(startTestIngest(t, { POLICY_FILE: file })).rejects.toThrow(
    new RegExp(`${file}:4:\\d+: widespread\\.minRegions: .*>=2`),
  );
  const typo = policy('widespread:\n  minRegion: 3\n');
  await expect(startTestIngest(t, { POLICY_FILE: typo })).rejects.toThrow(
    /policy\.yaml:2:\d+: widespread: .*minRegion/,
  );
});

it("reads only the policy's widespread block, and opens fleets by its numbers", async () => {
  const file = policy('version: 1\nanything: [the executor checks the rest]\nwidespread:\n  minTargets: 2\n');
  const ingest = await startTestIngest(t, { POLICY_FILE: file });
  try {
    const alerts = ['h1', 'h2'].map((host) => ({
      alertname: 'ServiceDown',
      instance: `${host}:9100`,
      service: 'api-gateway',
      labels: { region: 'us-east' },
    }));
    expect((await post(ingest.url, webhookBody(alerts))).status).toBe(202);
    expect(await t.redis.hget(t.keys.fleetOpen('api-gateway'), 'ServiceDown')).toBeTruthy();
  } finally {
    await ingest.close();
  }
});

it("opens a fleet on minFraction of the job's targets, as Prometheus counts them", async () => {
  const prometheus = await startFakePrometheus((query) =>
    query === 'count(up{job="api-gateway"})' ? [{ metric: {}, value: 4 }] : [],
  );
  const file = policy('widespread:\n  minFraction: 0.5\n');
  const ingest = await startTestIngest(t, { POLICY_FILE: file, PROMETHEUS_URL: prometheus.url });
  try {
    const alert = (host: string) => ({
      alertname: 'ServiceDown',
      instance: `${host}:9100`,
      service: 'api-gateway',
      labels: { region: 'us-east' },
    });
    await post(ingest.url, webhookBody([alert('h1')]));
    // The first batch asked Prometheus in the background; it did not wait for it.
    await eventually(async () => prometheus.queries.length > 0, 'the target count query');
    expect(await t.redis.hget(t.keys.fleetOpen('api-gateway'), 'ServiceDown')).toBeNull();
    // Once the count is in, 2 of 4 targets is half: h2 (re-sent until then) opens the fleet.
    await eventually(async () => {
      await post(ingest.url, webhookBody([alert('h2')]));
      return t.redis.hget(t.keys.fleetOpen('api-gateway'), 'ServiceDown');
    }, 'the fleet incident');
    expect(prometheus.queries).toEqual(['count(up{job="api-gateway"})']);
  } finally {
    await ingest.close();
    await prometheus.close();
  }
});

it('never makes a fleet of one: a crash of a single-instance service is its own incident, its restart not held', async () => {
  const prometheus = await startFakePrometheus((query) =>
    query === 'count(up{job="api-gateway"})' ? [{ metric: {}, value: 1 }] : [],
  );
  const ingest = await startTestIngest(t, { PROMETHEUS_URL: prometheus.url });
  try {
    const alert = {
      alertname: 'ServiceDown',
      instance: 'h1:9100',
      service: 'api-gateway',
      labels: { region: 'us-east' },
    };
    await post(ingest.url, webhookBody([alert]));
    await eventually(async () => prometheus.queries.length > 0, 'the target count query');
    // Re-sent once the count (1 of 1 targets: the whole job) is known.
    for (let i = 0; i < 3; i++) expect((await post(ingest.url, webhookBody([alert]))).status).toBe(202);
    expect(await t.redis.hget(t.keys.fleetOpen('api-gateway'), 'ServiceDown')).toBeNull();
  } finally {
    await ingest.close();
    await prometheus.close();
  }
});

it('runs with the default widespread rules when it cannot read POLICY_FILE (the executor needs it, not ingest)', async () => {
  const ingest = await startTestIngest(t, { POLICY_FILE: join(dir, 'nowhere.yaml') });
  try {
    const alerts = ['us-east', 'eu-west'].map((region, i) => ({
      alertname: 'ServiceDown',
      instance: `h${i}:9100`,
      service: 'api-gateway',
      labels: { region },
    }));
    expect((await post(ingest.url, webhookBody(alerts))).status).toBe(202);
    expect(await t.redis.hget(t.keys.fleetOpen('api-gateway'), 'ServiceDown')).toBeTruthy();
  } finally {
    await ingest.close();
  }
});
