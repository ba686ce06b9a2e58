import type { Queue } from 'bullmq';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApprovalDecisions } from '../../../shared/approval-decisions.js';
import { createQueue, QUEUE } from '../../../shared/queues.js';
import type { NotificationJob, TriageJob } from '../../../shared/schemas/jobs.js';
import { audited as auditedIn } from '../../../test/support/audit.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { openIncident } from '../../../test/support/incidents.js';
import { eventually } from '../../../test/support/redis.js';
import { writeUsersFile } from '../../../test/support/users.js';
import type { IngestHandle } from '../service.js';
import { startTestIngest } from './harness.js';

const PEOPLE = ['alice', 'bob', 'carol'];
let h: ExecutorHarness;
let ingest: IngestHandle;
let triage: Queue<TriageJob>;
let notifications: Queue<NotificationJob>;

beforeEach(async () => {
  h = await startExecutorHarness();
  ingest = await startTestIngest(h.t, {
    ADMIN_TOKEN: 'commands-admin',
    USERS_FILE: writeUsersFile(PEOPLE.map((name) => ({ name, role: 'approver', token: `${name}-token` }))),
  });
  triage = createQueue<TriageJob>(QUEUE.triage, h.t.redis, h.t.keys.bullPrefix);
  notifications = createQueue<NotificationJob>(QUEUE.notifications.executor, h.t.redis, h.t.keys.bullPrefix);
});
afterEach(async () => {
  await Promise.all([triage.close(), notifications.close()]);
  await ingest.close();
  await h.close();
});

/** Sent with the token of the person it names (each person has their own). */
const post = (path: string, body: { by?: string; comment?: string }) =>
  fetch(`${ingest.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${body.by}-token`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const audited = (event: string) => auditedIn(h.t, event);

async function noticesOf(incidentId: string) {
  const jobs = await notifications.getJobs(['waiting', 'prioritized', 'delayed', 'completed', 'active']);
  return jobs.filter((job) => job.data.incidentId === incidentId).map((job) => job.data);
}

it('approving the agent question means a human owns the incident: escalated, acknowledged, nothing verified', async () => {
  const incidentId = await openIncident(h.t, { alertname: 'HighLatency', service: 'api' });
  await h.incidents.setStatus(incidentId, 'diagnosing', 'triage');
  const asked = await h.submit({
    incidentId,
    tool: 'request_human_confirmation',
    args: {
      action_description: 'Investigate HighLatency on api',
      reason: 'no safe fix',
      risk_level: 'medium',
    },
  });
  expect((await h.incidents.getSummary(incidentId))?.status).toBe('awaiting_approval');

  const approved = await post(`/api/approvals/${asked.approvalId}/approve`, { by: 'alice' });
  expect(approved.status).toBe(200);
  const answer = await eventually(
    async () => h.incidents.getAction(incidentId, `run-${asked.approvalId}`),
    'the executor to record the answer',
  );
  expect(answer).toMatchObject({ decision: 'executed', reason: expect.stringMatching(/answered by alice/) });

  const incident = await h.incidents.get(incidentId);
  expect(incident).toMatchObject({ status: 'escalated', acknowledgedBy: 'alice' });
  expect(incident?.timeline.filter((entry) => entry.type === 'status').at(-1)).toMatchObject({
    status: 'escalated',
    by: 'human:alice',
    message: 'alice took ownership (answered yes to: Investigate HighLatency on api)',
  });
  // Settling the decision again (the sweeper after a crash) records the ownership once.
  const decided = await h.approvals.get(asked.approvalId as string);
  await new ApprovalDecisions(h.approvals, h.incidents, h.actions, notifications).settle(
    decided as NonNullable<typeof decided>,
    'executor',
  );
  const owned = (await h.incidents.timeline(incidentId)).filter((e) =>
    e.message?.startsWith('alice took ownership'),
  );
  expect(owned).toHaveLength(1);
  // No fix to verify: no approval_executed triage round, so no "the fix did not clear the alert".
  expect(await triage.getJob(`triage-${incidentId}-run-${asked.approvalId}`)).toBeUndefined();
  expect(await noticesOf(incidentId)).toContainEqual(
    expect.objectContaining({
      event: 'acknowledged',
      title: 'alice took ownership',
      text: expect.stringMatching(/^alice answered yes to "Investigate HighLatency on api" and owns/),
    }),
  );
});

it('acknowledges, re-runs and resolves an incident by a unique id prefix, each audited and announced', async () => {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
  await h.incidents.setStatus(incidentId, 'escalated', 'triage');
  const prefix = incidentId.slice(0, -2);

  const acked = await post(`/api/incidents/${prefix}/acknowledge`, { by: 'bob', comment: 'on it' });
  expect(acked.status).toBe(200);
  expect(await acked.json()).toMatchObject({
    ok: true,
    previous: 'escalated',
    status: 'escalated',
    incident: { id: incidentId, acknowledgedBy: 'bob' },
  });
  // Already escalated: the ownership is still on the timeline and announced.
  expect((await h.incidents.timeline(incidentId)).at(-1)).toMatchObject({
    by: 'human:bob',
    message: 'bob acknowledged: a human owns this incident now: on it',
  });
  expect(await noticesOf(incidentId)).toContainEqual(
    expect.objectContaining({
      event: 'acknowledged',
      text: 'bob took ownership of ServiceDown on app-server-01: on it.',
    }),
  );

  const rerun = await post(`/api/incidents/${incidentId}/rerun`, { by: 'bob' });
  expect(rerun.status).toBe(200);
  expect((await h.incidents.getSummary(incidentId))?.status).toBe('open');
  // Besides the first investigation's job (no triage worker runs here): a new round.
  const queued = (await triage.getJobs(['waiting', 'prioritized'])).filter(
    (job) => job.data.incidentId === incidentId && job.data.round,
  );
  expect(queued.map((job) => job.data)).toEqual([
    { incidentId, trigger: 'alert', round: expect.stringMatching(/^rerun_/) },
  ]);

  const resolved = await post(`/api/incidents/${prefix}/resolve`, {
    by: 'carol',
    comment: 'rolled back by hand',
  });
  expect(resolved.status).toBe(200);
  expect((await h.incidents.getSummary(incidentId))?.status).toBe('resolved');
  const again = await post(`/api/incidents/${prefix}/resolve`, { by: 'carol' });
  expect(again.status).toBe(409);
  expect((await again.json()).error).toMatch(/cannot be resolved: it is closed/);

  expect((await audited('incident_acknowledge')).map((e) => [e.incidentId, e.by, e.was])).toEqual([
    [incidentId, 'bob', 'escalated'],
  ]);
  expect(await audited('incident_rerun')).toHaveLength(1);
  expect(await audited('incident_resolve')).toEqual([
    expect.objectContaining({ by: 'carol', comment: 'rolled back by hand', was: 'open' }),
  ]);
});

it('refuses to re-run an incident whose fix is being verified, saying why', async () => {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'verify-api' });
  await h.incidents.setStatus(incidentId, 'verifying', 'triage');
  const rerun = await post(`/api/incidents/${incidentId}/rerun`, { by: 'bob' });
  expect(rerun.status).toBe(409);
  expect((await rerun.json()).error).toBe(
    `incident ${incidentId} cannot be re-run: triage is checking whether its fix worked`,
  );
  expect((await h.incidents.getSummary(incidentId))?.status).toBe('verifying');
});

it('answers 404 for an unknown incident or command, 409 for an ambiguous prefix, 400 without a name', async () => {
  const first = await openIncident(h.t, { alertname: 'ServiceDown', service: 'a' });
  const second = await openIncident(h.t, { alertname: 'ServiceDown', service: 'b' });
  expect((await post('/api/incidents/inc_nope/acknowledge', { by: 'bob' })).status).toBe(404);
  expect((await post(`/api/incidents/${first}/explode`, { by: 'bob' })).status).toBe(404);
  const nameless = await fetch(`${ingest.url}/api/incidents/${first}/resolve`, {
    method: 'POST',
    headers: { authorization: 'Bearer bob-token', 'content-type': 'application/json' },
    body: JSON.stringify({ by: '' }),
  });
  expect(nameless.status).toBe(400);
  const ambiguous = await post('/api/incidents/inc_/resolve', { by: 'bob' });
  expect(ambiguous.status).toBe(409);
  expect(await ambiguous.json()).toMatchObject({
    error: `incident id inc_ is ambiguous: ${first} (open), ${second} (open); give more of it`,
    details: { matches: [first, second] },
  });
  const noToken = await fetch(`${ingest.url}/api/incidents/${first}/resolve`, {
    method: 'POST',
    body: JSON.stringify({ by: 'eve' }),
  });
  expect(noToken.status).toBe(401);
  expect((await h.incidents.getSummary(first))?.status).toBe('open');
});
