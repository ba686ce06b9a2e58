import { afterAll, beforeAll, expect, it } from 'vitest';
import { IncidentStore } from '../../../shared/incidents.js';
import { createQueue, QUEUE } from '../../../shared/queues.js';
import type { TriageJob } from '../../../shared/schemas/jobs.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { type FakePrometheus, startFakePrometheus } from '../../../test/support/fake-prometheus.js';
import { ingestWebhook, openIncident, webhookBody } from '../../../test/support/incidents.js';
import { eventually } from '../../../test/support/redis.js';
import { logDir, notificationsFor, startTestTriage } from './harness.js';

let h: ExecutorHarness;
let prometheus: FakePrometheus;
let triage: { close(): Promise<void> };
let stillFiring = true;

beforeAll(async () => {
  h = await startExecutorHarness();
  // Every alert expression keeps matching: each fix stays "being verified" for the whole window.
  prometheus = await startFakePrometheus(() => (stillFiring ? [{ metric: {}, value: 1 }] : []));
  triage = await startTestTriage(h.t, {
    PLANNER: 'runbook',
    PROMETHEUS_URL: prometheus.url,
    LOG_DIR: logDir({ checkout: ['ERROR checkout crashed'] }),
    TRIAGE_CONCURRENCY: '1',
    VERIFY_WINDOW_SECONDS: '60',
    VERIFY_INTERVAL_MS: '300',
  });
});

afterAll(async () => {
  await triage?.close();
  await prometheus?.close();
  await h?.close();
});

it('verifying fixes holds no worker: a level-3 incident is picked at once while three fixes are re-checked', async () => {
  const store = new IncidentStore(h.t.redis, h.t.keys);
  const fixes: string[] = [];
  for (const service of ['checkout', 'cart', 'search'])
    fixes.push(await openIncident(h.t, { alertname: 'ServiceDown', service, severity: 'critical' }));
  // All three restarted and now waiting for their alerts to clear, with one worker in the process.
  const triageQueue = createQueue<TriageJob>(QUEUE.triage, h.t.redis, h.t.keys.bullPrefix);
  try {
    await eventually(
      async () => {
        const delayed = await triageQueue.getJobs(['delayed']);
        const verifying = new Set(delayed.filter((j) => j.name === 'verify').map((j) => j.data.incidentId));
        return fixes.every((id) => verifying.has(id));
      },
      'all three fixes to be under verification',
      20_000,
    );
  } finally {
    await triageQueue.close();
  }
  const openedAt = Date.now();
  const failover = await openIncident(h.t, { alertname: 'DatabaseFailover', severity: 'critical' });
  await eventually(
    async () => (await store.getStatus(failover)) === 'escalated',
    'the level-3 escalation',
    5_000,
  );
  const pickedInMs = Date.now() - openedAt;
  console.log(`[triage] level-3 escalated ${pickedInMs} ms after it opened, with 3 fixes under verification`);
  expect(pickedInMs).toBeLessThan(5_000);
  for (const id of fixes) expect(await store.getStatus(id)).toBe('verifying');

  // Verification is visible: which fix, since when, until when, how often; on the timeline and in Slack.
  const [shown] = fixes as [string];
  const verifying = await store.get(shown);
  const restart = verifying?.actions.find((a) => a.tool === 'restart_service');
  expect(verifying?.verification).toMatchObject({ actionIds: [restart?.id], everySeconds: 0.3 });
  const { since, until } = verifying?.verification ?? { since: '', until: '' };
  expect(Date.parse(until) - Date.parse(since)).toBeGreaterThan(55_000);
  expect(Date.parse(until) - Date.parse(since)).toBeLessThanOrEqual(60_000);
  const untilClock = `${until.slice(11, 19)} UTC`;
  expect(verifying?.timeline.at(-1)).toMatchObject({
    type: 'status',
    status: 'verifying',
    message: `verifying restart_service: re-checking every 0.3 s until ${untilClock}`,
  });
  const notice = (await notificationsFor(h.t, shown)).find((n) => n.event === 'verifying');
  expect(notice?.text).toBe(
    `restart_service ran; the alert has not cleared yet. Hermes is re-checking every 0.3 s until ${untilClock}.`,
  );

  // Alertmanager reports the first fix's alert resolved before its next re-check: the incident
  // resolves at once, and the fix still gets its verdict (the breaker learns it worked).
  const [first] = fixes as [string];
  const [fingerprint, raw] = Object.entries(await h.t.redis.hgetall(h.t.keys.incidentAlerts(first)))[0] ?? [];
  const [, , startsAt, , labels] = JSON.parse(raw ?? '[]') as [
    string,
    string,
    string,
    string,
    Record<string, string>,
  ];
  await ingestWebhook(
    h.t,
    webhookBody(
      [
        {
          alertname: 'ServiceDown',
          status: 'resolved',
          fingerprint: fingerprint as string,
          startsAt,
          labels,
        },
      ],
      'resolved',
    ),
  );
  await eventually(
    async () => (await store.getStatus(first)) === 'resolved',
    'the resolution from Alertmanager',
  );
  // The fixes still reach their verdict through the delayed re-checks.
  stillFiring = false;
  for (const id of fixes)
    await eventually(
      async () => {
        const incident = await store.get(id);
        const verdict = incident?.timeline.some((e) => e.type === 'summary' && e.verified === true);
        return incident?.status === 'resolved' && verdict;
      },
      `${id} resolved and verified`,
      10_000,
    );
  // Verified: the re-check details go with the status.
  expect((await store.get(fixes[1] as string))?.verification).toBeUndefined();
  expect(h.runs().sort()).toEqual(['restart cart', 'restart checkout', 'restart search']);
});
