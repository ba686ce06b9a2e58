import { afterEach, beforeEach, expect, it } from 'vitest';
import { IncidentStore } from '../../../shared/incidents.js';
import type { IncidentSummary } from '../../../shared/schemas/incident.js';
import { type TestAlert, webhookBody } from '../../../test/support/incidents.js';
import { openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import type { IngestHandle } from '../service.js';
import { post, startTestIngest, triageJobs } from './harness.js';

let t: TestRedis;
let ingest: IngestHandle;

beforeEach(async () => {
  t = await openTestRedis();
  ingest = await startTestIngest(t, {
    STORM_THRESHOLD: '50',
    STORM_WINDOW_SECONDS: '60',
    STORM_TRIAGE_BUDGET: '20',
  });
});
afterEach(async () => {
  await ingest.close();
  await t.close();
});

const ALERTNAMES = ['ServiceDown', 'HighLatency', 'QueueBacklog', 'DiskSpaceLow'];

async function allIncidents(store: IncidentStore): Promise<IncidentSummary[]> {
  const all: IncidentSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ limit: 500, cursor });
    all.push(...page.incidents);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}

it('survives a storm of 2,000 alerts over 300 services: bounded triage, one level-3 storm incident, every alert counted', async () => {
  const alerts: TestAlert[] = Array.from({ length: 2_000 }, (_, i) => ({
    alertname: ALERTNAMES[i % ALERTNAMES.length] as string,
    service: `svc-${i % 300}`,
    instance: `node-${i % 7}`,
    severity: i % 40 === 0 ? 'critical' : 'warning',
    fingerprint: `storm${i.toString(16).padStart(6, '0')}`,
    startsAt: '2026-11-23T03:00:00.000Z',
  }));
  let accepted = 0;
  for (let start = 0; start < alerts.length; start += 400) {
    const batches = [0, 100, 200, 300].map((offset) => alerts.slice(start + offset, start + offset + 100));
    const responses = await Promise.all(batches.map((batch) => post(ingest.url, webhookBody(batch))));
    for (const res of responses) {
      expect(res.status).toBe(202);
      accepted += (await res.json()).accepted;
    }
  }
  expect(accepted).toBe(2_000);

  const store = new IncidentStore(t.redis, t.keys);
  const incidents = await allIncidents(store);
  expect(incidents.reduce((sum, incident) => sum + incident.alertCount, 0)).toBe(2_000);

  const storms = incidents.filter((incident) => incident.storm);
  expect(storms).toHaveLength(1);
  expect(storms[0]).toMatchObject({ level: 3, severity: 'critical', alertname: 'AlertStorm', priority: 1 });
  expect(storms[0]?.alertCount).toBeGreaterThan(1_000);

  // Bounded: the 50 incidents before the storm, at most the budget of critical ones during it, and the storm.
  const jobs = await triageJobs(t);
  expect(jobs.length).toBeLessThanOrEqual(50 + 20 + 1);
  expect(jobs.length).toBe(incidents.length);
  const investigatedInStorm = incidents.filter((i) => !i.storm && i.severity === 'critical');
  expect(investigatedInStorm.length).toBeGreaterThan(0);
  // The storm incident is first in line; critical incidents come before warnings.
  const byPriority = [...jobs].sort((a, b) => (a.opts.priority ?? 0) - (b.opts.priority ?? 0));
  expect(byPriority[0]?.data.incidentId).toBe(storms[0]?.id);
  const pages = await t.redis.keys(`${t.keys.bullPrefix}:notifications-ingest:storm-*`);
  expect(pages).toEqual([`${t.keys.bullPrefix}:notifications-ingest:storm-${storms[0]?.id}`]);

  // Re-sending the whole storm (HA peer) adds nothing.
  const again = await post(ingest.url, webhookBody(alerts.slice(0, 100)));
  expect(await again.json()).toMatchObject({ accepted: 0, duplicates: 100 });
  expect(await triageJobs(t)).toHaveLength(jobs.length);
});
