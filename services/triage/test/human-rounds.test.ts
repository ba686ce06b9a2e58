import { readFileSync } from 'node:fs';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApprovalDecisions } from '../../../shared/approval-decisions.js';
import { createQueue, QUEUE } from '../../../shared/queues.js';
import type { NotificationJob, TriageJob } from '../../../shared/schemas/jobs.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { openIncident } from '../../../test/support/incidents.js';
import { queueIdle } from '../../../test/support/queues.js';
import { eventually } from '../../../test/support/redis.js';
import { notificationsFor, startTestTriage, writeFile } from './harness.js';

let h: ExecutorHarness;
let triage: { close(): Promise<void> };
let notifications: Queue<NotificationJob>;
let triageQueue: Queue<TriageJob>;

beforeAll(async () => {
  h = await startExecutorHarness();
  // The shipped runbooks; the test policy's restart_consumers takes no host.
  const shipped = readFileSync('config/runbooks.yaml', 'utf8');
  const runbooks = shipped.replace(
    '{ service: "{{service}}", host: "{{host}}", reason: "runbook QueueBacklog',
    '{ service: "{{service}}", reason: "runbook QueueBacklog',
  );
  expect(runbooks).not.toBe(shipped);
  triage = await startTestTriage(h.t, {
    PLANNER: 'runbook',
    RUNBOOKS_FILE: writeFile('runbooks.yaml', runbooks),
  });
  notifications = createQueue<NotificationJob>(QUEUE.notifications.executor, h.t.redis, h.t.keys.bullPrefix);
  triageQueue = createQueue<TriageJob>(QUEUE.triage, h.t.redis, h.t.keys.bullPrefix);
});
afterAll(async () => {
  await notifications?.close();
  await triageQueue?.close();
  await triage?.close();
  await h?.close();
});

const status = (id: string) => h.incidents.getStatus(id);

it('a failed fix says why in the message humans get: the command and its stderr', async () => {
  const id = await openIncident(h.t, { alertname: 'QueueBacklog', service: 'orders' });
  await eventually(async () => (await status(id)) === 'escalated', 'the escalation', 10_000);
  const escalation = (await notificationsFor(h.t, id)).find((notice) => notice.event === 'escalated');
  expect(escalation?.text).toMatch(
    /^No fix was applied\. runbook QueueBacklog: stopped, restart_consumers was failed: /,
  );
  expect(escalation?.text).toContain('node exited with 1: consumers orders: failed as asked (exit 1)');
  expect(escalation?.title).toBe('QueueBacklog on app-server-01: escalated');
});

it('the default runbook asks a human; approving means that human owns it, and a re-run is a round of its own', async () => {
  // No instance label: the words name the service instead of "on " and nothing.
  const id = await openIncident(h.t, { alertname: 'OddThing', service: 'checkout', instance: '' });
  await eventually(async () => (await status(id)) === 'awaiting_approval', 'the question', 10_000);
  const [approval] = await h.approvals.listPending();
  expect(approval?.description).toBe('Investigate OddThing on checkout: no runbook covers it');
  expect(await notificationsFor(h.t, id)).toContainEqual(
    expect.objectContaining({
      event: 'diagnosis',
      title: 'OddThing on checkout: diagnosis',
      text: 'Hermes is investigating OddThing on checkout (level 2).',
    }),
  );

  const decisions = new ApprovalDecisions(h.approvals, h.incidents, h.actions, notifications);
  expect((await decisions.decide(approval?.id as string, 'approved', 'alice')).ok).toBe(true);
  await eventually(
    async () => (await h.incidents.getAction(id, `run-${approval?.id}`))?.decision === 'executed',
    'the answer recorded',
  );
  // Once the executor's job has finished, a (wrongly) queued verification round is on triage's queue;
  // once that is idle, it has run: there must be none.
  await eventually(
    async () => (await h.actions.getJobState(`run-${approval?.id}`)) === 'completed',
    "the executor's job",
  );
  await eventually(async () => queueIdle(triageQueue), 'triage to finish its work');
  expect(await h.incidents.getVerifyJob(id)).toBeNull();
  const owned = await h.incidents.get(id);
  expect(owned).toMatchObject({ status: 'escalated', acknowledgedBy: 'alice' });
  const said = owned?.timeline.map((entry) => entry.message ?? '').join('\n');
  expect(said).not.toMatch(/did not clear|verification/);
  expect(said).toContain('alice took ownership (answered yes to: Investigate OddThing on checkout');

  await h.actions.add('incident_command', { incidentId: id, command: 'rerun', by: 'alice' });
  await eventually(
    async () => (await h.approvals.listPending()).length === 1 && (await status(id)) === 'awaiting_approval',
    'the second round to ask again',
    10_000,
  );
  const diagnoses = (await notificationsFor(h.t, id)).filter((notice) => notice.event === 'diagnosis');
  expect(new Set(diagnoses.map((notice) => notice.eventId)).size).toBe(2);
});
