import type { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { parseEnv } from '../../../shared/env.js';
import { IncidentStore } from '../../../shared/incidents.js';
import { createLogger } from '../../../shared/logger.js';
import { escalatedNotice } from '../../../shared/notices.js';
import { enqueueNotification } from '../../../shared/notify.js';
import { createQueue, QUEUE } from '../../../shared/queues.js';
import type { IncidentSummary } from '../../../shared/schemas/incident.js';
import type { NotificationJob } from '../../../shared/schemas/jobs.js';
import { type FakePagerDuty, startFakePagerDuty } from '../../../test/support/fake-pagerduty.js';
import { type FakeSlack, startFakeSlack } from '../../../test/support/fake-slack.js';
import { fireFleet } from '../../../test/support/fleets.js';
import { fakeChannelsEnv } from '../../../test/support/paging.js';
import { eventually, openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import { startTestIngest } from '../../ingest/test/harness.js';
import { notifierEnvSchema } from '../env.js';
import { startNotifier } from '../service.js';
import { startSmtpSink } from './smtp-sink.js';

let slack: FakeSlack;
let pd: FakePagerDuty;
let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
let t: TestRedis;
let stop: (() => Promise<void>)[] = [];
let queues: {
  ingest: Queue<NotificationJob>;
  triage: Queue<NotificationJob>;
  executor: Queue<NotificationJob>;
};

beforeAll(async () => {
  [slack, pd, smtp] = await Promise.all([startFakeSlack(), startFakePagerDuty(), startSmtpSink()]);
});
afterAll(async () => {
  await Promise.all([slack.close(), pd.close(), smtp.close()]);
});
beforeEach(async () => {
  t = await openTestRedis();
  queues = {
    ingest: createQueue(QUEUE.notifications.ingest, t.redis, t.keys.bullPrefix),
    triage: createQueue(QUEUE.notifications.triage, t.redis, t.keys.bullPrefix),
    executor: createQueue(QUEUE.notifications.executor, t.redis, t.keys.bullPrefix),
  };
  const notifier = await startNotifier(
    parseEnv(notifierEnvSchema, {
      REDIS_URL: t.url,
      HERMES_PREFIX: t.prefix,
      ...fakeChannelsEnv(slack, pd),
      SMTP_URL: smtp.url,
      EMAIL_TO: 'oncall@example.com',
    }),
    { logger: createLogger('notifier', 'silent') },
  );
  const ingest = await startTestIngest(t);
  stop = [() => ingest.close(), () => notifier.close()];
  ({ members, fleetId } = await fireFleet(t, ingest.url, ['us-east', 'eu-west', 'ap-south'], {
    severity: 'critical',
  }));
});
afterEach(async () => {
  for (const close of stop) await close();
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
  await t.close();
});

let members: string[];
let fleetId: string;

async function settled(queue: Queue, jobId: string): Promise<void> {
  await eventually(async () => {
    const state = await queue.getJobState(jobId);
    return state === 'completed' || state === 'failed';
  }, `job ${jobId} to settle`);
}

const slackFor = (id: string) => slack.posted().filter((r) => JSON.stringify(r.body).includes(id));
const pagedFor = (id: string) => pd.accepted().filter((r) => r.body.dedup_key === id);
const mailFor = (id: string) => smtp.messages.filter((m) => m.raw.includes(id));

it('pages PagerDuty, Slack and email once for the fleet incident, with Release / Cancel held in Slack', async () => {
  expect(fleetId).toBeTruthy();
  await settled(queues.ingest, `fleet-opened-${fleetId}`);
  expect(pagedFor(fleetId).map((r) => r.body.event_action)).toEqual(['trigger']);
  expect(slackFor(fleetId)).toHaveLength(1);
  const blocks = JSON.stringify(slackFor(fleetId)[0]?.body.blocks);
  expect(blocks).toContain('Release ap-south');
  expect(blocks).toContain('Cancel held');
  await eventually(async () => mailFor(fleetId).length > 0, 'the email');
  expect(mailFor(fleetId)).toHaveLength(1);
});

it("does not page, email or post to Slack for a member's escalation, and says why on its timeline; approval requests still go out", async () => {
  await settled(queues.ingest, `fleet-opened-${fleetId}`);
  const store = new IncidentStore(t.redis, t.keys);
  const member = members[0] as string;
  const summary = (await store.getSummary(member)) as IncidentSummary;
  expect(summary.fleetIncident).toBe(fleetId);
  const notice = escalatedNotice(summary, { kind: 'no_change_allowed', storm: false }, 'alert');
  await store.setStatus(member, 'escalated', 'triage', { notice: { source: 'triage', job: notice } });
  const jobId = await enqueueNotification(queues.triage, notice);
  await settled(queues.triage, jobId);
  const asked = await enqueueNotification(queues.executor, {
    eventId: `apr-${member}`,
    incidentId: member,
    event: 'approval_requested',
    severity: 'warning',
    title: 'Approve restart?',
    text: 'The agent wants to restart api-gateway.',
    approvalId: 'apr_1',
  });
  await settled(queues.executor, asked);
  // Its own opening and escalation paged no one: PagerDuty hears nothing of it at all.
  expect(pagedFor(member)).toEqual([]);
  expect(slackFor(member).map((r) => JSON.stringify(r.body))).toEqual([
    expect.stringContaining('Approve restart?'),
  ]);
  await eventually(async () => mailFor(member).length > 0, 'the approval email');
  expect(mailFor(member).map((m) => /^Subject: (.*)$/m.exec(m.raw)?.[1])).toEqual([
    expect.stringContaining('Approve restart?'),
  ]);
  const timeline = await store.timeline(member);
  expect(timeline.filter((entry) => entry.result === 'not_paged').map((entry) => entry.message)).toEqual([
    `not paged: part of fleet incident ${fleetId} which paged once`,
  ]);
});
