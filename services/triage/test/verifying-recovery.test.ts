import { afterAll, beforeAll, expect, it } from 'vitest';
import { IncidentStore } from '../../../shared/incidents.js';
import { createQueue, QUEUE, triageJobId } from '../../../shared/queues.js';
import type { TriageJob } from '../../../shared/schemas/jobs.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { type FakePrometheus, startFakePrometheus } from '../../../test/support/fake-prometheus.js';
import { openIncident } from '../../../test/support/incidents.js';
import { eventually } from '../../../test/support/redis.js';
import { logDir, notificationsFor, startTestTriage, waitForStatus } from './harness.js';

// A fix under verification whose triage dies: the incident must not sit at `verifying` forever.
let h: ExecutorHarness;
let prometheus: FakePrometheus;
let triage: { close(): Promise<void> };
const firing = new Set<string>();
let store: IncidentStore;

beforeAll(async () => {
  h = await startExecutorHarness();
  store = new IncidentStore(h.t.redis, h.t.keys);
  // Each service's own series matches the alert expression while it is still failing.
  prometheus = await startFakePrometheus(() =>
    [...firing].map((service) => ({ metric: { service }, value: 1 })),
  );
  triage = await startTestTriage(h.t, {
    PLANNER: 'runbook',
    PROMETHEUS_URL: prometheus.url,
    LOG_DIR: logDir({
      checkout: ['ERROR checkout crashed'],
      cart: ['ERROR cart crashed'],
      search: ['ERROR search crashed'],
    }),
    VERIFY_WINDOW_SECONDS: '600',
    // Re-checks far apart: the test decides what happens to the one waiting.
    VERIFY_INTERVAL_MS: '600000',
    TRIAGE_LOCK_SECONDS: '1',
  });
});

afterAll(async () => {
  await triage?.close();
  await prometheus?.close();
  await h?.close();
});

/** An incident whose restart ran and is now being verified, and its waiting re-check job. */
async function verifyingIncident(service: string) {
  firing.add(service);
  const id = await openIncident(h.t, { alertname: 'ServiceDown', service, severity: 'critical' });
  await waitForStatus(h.t, id, ['verifying']);
  const jobId = await store.getVerifyJob(id);
  expect(jobId).toMatch(/-verify-alert-\d+-2$/);
  return { id, jobId: jobId as string };
}

it('a re-check job that is lost: the stuck-incident sweep fails the verifying incident and humans are told', async () => {
  const { id, jobId } = await verifyingIncident('checkout');
  const queue = createQueue<TriageJob>(QUEUE.triage, h.t.redis, h.t.keys.bullPrefix);
  try {
    await (await queue.getJob(jobId))?.remove();
  } finally {
    await queue.close();
  }
  const failed = await waitForStatus(h.t, id, ['failed'], 20_000);
  expect(failed.timeline.at(-1)?.message).toBe(
    'triage failed: the next re-check of its fix is no longer queued while the incident was still verifying',
  );
  expect((await notificationsFor(h.t, id)).map((n) => n.event)).toContain('failed');
  expect(h.runs()).toEqual(['restart checkout']);
});

it('a triage job run again while its re-check is still queued: that re-check carries on, no second one is queued', async () => {
  const { id, jobId } = await verifyingIncident('search');
  const queue = createQueue<TriageJob>(QUEUE.triage, h.t.redis, h.t.keys.bullPrefix);
  try {
    const job = await queue.getJob(triageJobId(id));
    await job?.retry('completed');
    await eventually(
      async () => (await queue.getJob(triageJobId(id)))?.returnvalue === 'verifying: its re-check is queued',
      'the job run again to finish',
    );
    const verifies = (await queue.getJobs(['delayed'])).filter((j) => j.data.incidentId === id);
    expect(verifies.map((j) => j.id)).toEqual([jobId]);
    expect(await store.getStatus(id)).toBe('verifying');
  } finally {
    await queue.close();
  }
  expect(h.runs().filter((run) => run === 'restart search')).toHaveLength(1);
});

it('a triage job run again while its fix is verified: it re-checks the fix, it does not plan or act again', async () => {
  const { id, jobId } = await verifyingIncident('cart');
  const queue = createQueue<TriageJob>(QUEUE.triage, h.t.redis, h.t.keys.bullPrefix);
  try {
    // Triage died after the incident became `verifying`, before its re-check was queued: BullMQ runs
    // the incident's job again.
    await (await queue.getJob(jobId))?.remove();
    firing.delete('cart');
    await (await queue.getJob(triageJobId(id)))?.retry('completed');
    const resolved = await waitForStatus(h.t, id, ['resolved'], 20_000);
    expect(resolved.timeline.at(-1)?.message).toMatch(
      /^fixed and verified: alert expression no longer matches/,
    );
    expect(resolved.verification).toBeUndefined();
  } finally {
    await queue.close();
  }
  expect(h.runs().filter((run) => run === 'restart cart')).toHaveLength(1);
  await eventually(
    async () => (await notificationsFor(h.t, id)).some((n) => n.event === 'fixed'),
    'the fixed notice',
  );
});
