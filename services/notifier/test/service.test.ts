import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job, Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConfigVersions } from '../../../shared/config-versions.js';
import { parseEnv } from '../../../shared/env.js';
import { IncidentStore } from '../../../shared/incidents.js';
import { createLogger } from '../../../shared/logger.js';
import {
  approvalCancelledNotice,
  diagnosisNotice,
  escalatedNotice,
  verifyingNotice,
} from '../../../shared/notices.js';
import { enqueueNotification, type NotificationInput } from '../../../shared/notify.js';
import { createQueue, NOTICE_SOURCES, type NoticeSource, QUEUE } from '../../../shared/queues.js';
import type { Approval } from '../../../shared/schemas/approval.js';
import type { IncidentSummary, TimelineEntry } from '../../../shared/schemas/incident.js';
import { NOTICE_EVENTS, type NotificationJob } from '../../../shared/schemas/jobs.js';
import { type FakePagerDuty, startFakePagerDuty } from '../../../test/support/fake-pagerduty.js';
import { type FakeSlack, type SlackRequest, startFakeSlack } from '../../../test/support/fake-slack.js';
import { openIncident } from '../../../test/support/incidents.js';
import { fakeChannelsEnv } from '../../../test/support/paging.js';
import { eventually, openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import { notifierEnvSchema } from '../env.js';
import { MAX_RATE_LIMITED_RUNS } from '../processor.js';
import { EMAIL_DIGEST_JOB, startNotifier } from '../service.js';
import { startSmtpSink } from './smtp-sink.js';

let slack: FakeSlack;
let pd: FakePagerDuty;
let t: TestRedis;
/** Each source's queue, as that service writes it. */
let queues: Record<NoticeSource, Queue<NotificationJob>>;
let digestQueue: Queue;
let running: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  [slack, pd] = await Promise.all([startFakeSlack(), startFakePagerDuty()]);
});
afterAll(async () => {
  await Promise.all([slack.close(), pd.close()]);
});
beforeEach(async () => {
  t = await openTestRedis();
  queues = {
    ingest: createQueue<NotificationJob>(QUEUE.notifications.ingest, t.redis, t.keys.bullPrefix),
    triage: createQueue<NotificationJob>(QUEUE.notifications.triage, t.redis, t.keys.bullPrefix),
    executor: createQueue<NotificationJob>(QUEUE.notifications.executor, t.redis, t.keys.bullPrefix),
  };
  digestQueue = createQueue(QUEUE.emailDigest, t.redis, t.keys.bullPrefix);
});
afterEach(async () => {
  for (const service of running) await service.close();
  running = [];
  await Promise.all([...Object.values(queues), digestQueue].map((queue) => queue.close()));
  await t.close();
});

function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('notifier', 'info', {
    write: (line: string) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  return { logger, lines };
}

async function start(extra: Record<string, string> = {}, logger = captureLogs().logger) {
  const env = parseEnv(notifierEnvSchema, {
    REDIS_URL: t.url,
    HERMES_PREFIX: t.prefix,
    ...fakeChannelsEnv(slack, pd),
    NOTIFIER_RETRY_AFTER_DEFAULT_MS: '200',
    ...extra,
  });
  const service = await startNotifier(env, { logger });
  running.push(service);
  return service;
}

/** Waits for a job on any source's queue (or the digest's) to complete or fail. */
async function settled(jobId: string): Promise<{ job: Job; state: string }> {
  const all = [...Object.values(queues), digestQueue];
  const { queue, state } = await eventually(async () => {
    for (const queue of all) {
      const current = await queue.getJobState(jobId);
      if (current === 'completed' || current === 'failed') return { queue, state: current };
    }
    return null;
  }, `job ${jobId} to settle`);
  // Read the job only once it has settled, so its attempts and failure reason are final.
  const job = await queue.getJob(jobId);
  if (!job) throw new Error(`job ${jobId} vanished`);
  return { job, state };
}

async function notifications(incidentId: string): Promise<TimelineEntry[]> {
  const incident = await new IncidentStore(t.redis, t.keys).get(incidentId);
  return (incident?.timeline ?? []).filter((entry) => entry.type === 'notification');
}

const slackPostsFor = (incidentId: string): SlackRequest[] =>
  slack.posted().filter((request) => JSON.stringify(request.body).includes(incidentId));
const pagerDutyFor = (incidentId: string) =>
  pd.accepted().filter((request) => request.body.dedup_key === incidentId);

/** Sends a notice the way the service that announces such events does, on its queue. */
function send(input: NotificationInput): Promise<string> {
  const source = NOTICE_SOURCES.find((name) => NOTICE_EVENTS[name].includes(input.event)) as NoticeSource;
  return enqueueNotification(queues[source], input);
}

describe('notifier service', () => {
  it('pages PagerDuty and posts to Slack for a new level 3 incident, and records both on the timeline', async () => {
    const service = await start();
    const id = await openIncident(t, { alertname: 'DatabaseFailover', severity: 'critical', level: 3 });
    const { state } = await settled(`opened-${id}`);
    expect(state).toBe('completed');

    expect(pagerDutyFor(id).map((r) => r.body.event_action)).toEqual(['trigger']);
    expect(pd.alerts.get(id)).toBe('triggered');
    expect(slackPostsFor(id)).toHaveLength(1);
    const entries = await notifications(id);
    expect(entries.map((e) => [e.channel, e.event, e.result]).sort()).toEqual([
      ['pagerduty', 'incident_opened', 'delivered'],
      ['slack', 'incident_opened', 'delivered'],
    ]);
    const metrics = await service.metrics.registry.getSingleMetricAsString('hermes_notifications_total');
    expect(metrics).toMatch(
      /hermes_notifications_total\{channel="slack",result="delivered",service="notifier"\} 1/,
    );
    expect(metrics).toMatch(
      /hermes_notifications_total\{channel="pagerduty",result="delivered",service="notifier"\} 1/,
    );
  });

  it('delivers the escalation notice a triage process recorded with the status change but died before queueing', async () => {
    const { logger, lines } = captureLogs();
    await start({ OUTBOX_RELAY_SECONDS: '1' }, logger);
    const id = await openIncident(t, { alertname: 'ServiceDown', severity: 'critical', service: 'api' });
    await settled(`opened-${id}`);
    const store = new IncidentStore(t.redis, t.keys);
    const incident = (await store.getSummary(id)) as IncidentSummary;
    const notice = escalatedNotice(
      incident,
      { kind: 'not_cleared', detail: 'the alert still fires', summary: 'The fix did not help.' },
      'alert',
    );
    // What triage does first; it is killed before queueing the notice.
    await store.setStatus(id, 'escalated', 'triage', { notice: { source: 'triage', job: notice } });

    const { state } = await settled(notice.eventId);
    expect(state).toBe('completed');
    const delivered = (await notifications(id)).filter((entry) => entry.event === 'escalated');
    expect(delivered.map((entry) => entry.result)).toContain('delivered');
    expect(JSON.stringify(slackPostsFor(id).at(-1)?.body)).toContain('The fix did not help.');
    expect(await t.redis.hlen(t.keys.outbox('triage'))).toBe(0);
    expect(lines.some((line) => line.msg === 'queued notices a crashed process left')).toBe(true);
  });

  it('threads later events, puts Approve / Deny on approval requests, and acknowledges then resolves on PagerDuty', async () => {
    await start();
    const id = await openIncident(t, { alertname: 'DatabaseFailover', severity: 'critical', level: 3 });
    await settled(`opened-${id}`);
    const approval = await send({
      eventId: `apr-${id}`,
      incidentId: id,
      event: 'approval_requested',
      severity: 'warning',
      title: 'Approve rollback_deployment?',
      text: 'The agent wants to roll back orders-api to v41.',
      approvalId: 'apr_123',
    });
    await settled(approval);
    const resolved = await send({
      eventId: `res-${id}`,
      incidentId: id,
      event: 'resolved',
      title: 'Resolved',
      text: 'ok',
    });
    await settled(resolved);

    const [opened, approvalPost, resolvedPost] = slackPostsFor(id);
    expect(approvalPost?.body.thread_ts).toBe(opened?.ts);
    expect(resolvedPost?.body.thread_ts).toBe(opened?.ts);
    expect(JSON.stringify(approvalPost?.body.blocks)).toContain('"action_id":"approve","style":"primary"');
    expect(pagerDutyFor(id).map((r) => r.body.event_action)).toEqual(['trigger', 'acknowledge', 'resolve']);
    expect(pd.alerts.get(id)).toBe('resolved');
  });

  it("tells a fix being verified in the incident's Slack thread, with its interval and deadline; PagerDuty hears nothing of it", async () => {
    await start();
    const id = await openIncident(t, { alertname: 'HighLatency', service: 'checkout', level: 2 });
    const incident = (await new IncidentStore(t.redis, t.keys).getSummary(id)) as IncidentSummary;
    const diagnosis = await send(diagnosisNotice(incident, 'alert'));
    await settled(diagnosis);
    const verification = { until: '2026-12-07T12:05:40.000Z', everySeconds: 5 };
    const verifying = await send(verifyingNotice(incident, 'scale_service', verification, 'alert'));
    expect((await settled(verifying)).state).toBe('completed');

    const [first, update] = slackPostsFor(id);
    expect(update?.body.thread_ts).toBe(first?.ts);
    expect(update?.body.text).toContain(
      'scale_service ran; the alert has not cleared yet. Hermes is re-checking every 5 s until 12:05:40 UTC.',
    );
    expect(pagerDutyFor(id)).toEqual([]);
  });

  it("answers a cancelled approval in its thread, saying why, with no buttons: the approval's outcome", async () => {
    await start();
    const id = await openIncident(t, { alertname: 'ServiceDown', service: 'api' });
    const approval: Approval = {
      id: `apr_${id}`,
      incidentId: id,
      actionId: `act-${id}`,
      tool: 'rollback_deployment',
      args: { service: 'api' },
      argsHash: 'h',
      reason: 'bad deploy',
      risk: 'high',
      status: 'cancelled',
      requestedAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      decidedBy: 'alice',
      comment: 'resolved by alice',
    };
    const asked = await send({
      eventId: `approval-${approval.id}`,
      incidentId: id,
      event: 'approval_requested',
      title: 'Approval needed: roll back api',
      text: 'bad deploy',
      approvalId: approval.id,
    });
    await settled(asked);
    const cancelled = await send(approvalCancelledNotice(approval, 'resolved by alice'));
    expect((await settled(cancelled)).state).toBe('completed');

    const posts = slackPostsFor(id);
    const request = posts.find((post) => JSON.stringify(post.body.blocks).includes('"action_id":"approve"'));
    const outcome = posts.at(-1);
    expect(outcome?.body.thread_ts).toEqual(expect.any(String));
    expect(outcome?.body.thread_ts).toBe(request?.body.thread_ts ?? request?.ts);
    expect(outcome?.body.text).toBe(
      '[L1] rollback_deployment approval cancelled: rollback_deployment will not run: its approval was cancelled (resolved by alice).',
    );
    expect(JSON.stringify(outcome?.body.blocks)).not.toContain('"action_id"');
  });

  it('keeps a burst of events for a new incident in one Slack thread', async () => {
    await start({ PAGERDUTY_ROUTING_KEY: '' });
    const id = await openIncident(t, { alertname: 'DatabaseFailover', severity: 'critical', level: 3 });
    // The first post is slow, so the other events arrive while the thread is being started.
    slack.script({ delayMs: 400 });
    const events = await Promise.all(
      ['escalated', 'diagnosis', 'message'].map((event, i) =>
        send({
          eventId: `burst-${i}-${id}`,
          incidentId: id,
          event: event as 'message',
          title: event,
          text: event,
        }),
      ),
    );
    for (const eventId of [`opened-${id}`, ...events])
      expect((await settled(eventId)).state).toBe('completed');
    const posts = slackPostsFor(id);
    expect(posts).toHaveLength(4);
    const roots = posts.filter((post) => !post.body.thread_ts);
    expect(roots).toHaveLength(1);
    expect(posts.filter((post) => post.body.thread_ts === roots[0]?.ts)).toHaveLength(3);
  });

  it('retries a failed channel without posting twice to the one that already succeeded', async () => {
    await start();
    const id = await openIncident(t, { alertname: 'HighLatency', severity: 'warning', level: 2 });
    pd.script({ status: 500 }, { status: 502 });
    const jobId = await send({
      incidentId: id,
      event: 'escalated',
      severity: 'critical',
      title: 'Escalated',
      text: 'The agent could not fix this.',
    });
    const { job, state } = await settled(jobId);
    expect(state).toBe('completed');
    // Two failed runs, then the one that succeeded.
    expect(job.attemptsMade).toBe(3);
    expect(slackPostsFor(id)).toHaveLength(1);
    expect(pagerDutyFor(id)).toHaveLength(1);
    const entries = await notifications(id);
    expect(entries.map((e) => [e.channel, e.result]).sort()).toEqual([
      ['pagerduty', 'delivered'],
      ['slack', 'delivered'],
    ]);
  });

  it('honours 429 Retry-After by rate limiting the queue, then delivers once', async () => {
    const service = await start();
    const id = await openIncident(t, { alertname: 'DiskSpaceLow', level: 1 });
    slack.script({ status: 429, retryAfterSeconds: 1 });
    const jobId = await send({ incidentId: id, event: 'fixed', title: 'Disk cleaned', text: 'Freed 3 GiB.' });
    const { job, state } = await settled(jobId);
    expect(state).toBe('completed');
    // The rate-limited run went back to the queue without spending an attempt: only the success counts.
    expect(job.attemptsMade).toBe(1);
    const attempts = slack.requests.filter((r) => JSON.stringify(r.body).includes(id));
    expect(attempts).toHaveLength(2);
    expect(slackPostsFor(id)).toHaveLength(1);
    const metrics = await service.metrics.registry.getSingleMetricAsString('hermes_notifications_total');
    expect(metrics).toMatch(/channel="slack",result="rate_limited",service="notifier"\} 1/);
  });

  it('stops letting a channel that always answers 429 hold the queue: it then spends attempts', async () => {
    await start();
    const id = await openIncident(t, { alertname: 'DiskSpaceLow', level: 1 });
    slack.script(
      ...Array.from({ length: MAX_RATE_LIMITED_RUNS + 1 }, () => ({
        status: 429 as const,
        retryAfterSeconds: 0,
      })),
    );
    const jobId = await send({ incidentId: id, event: 'fixed', title: 'Disk cleaned', text: 'Freed 3 GiB.' });
    const { job, state } = await settled(jobId);
    expect(state).toBe('completed');
    // The last 429 counted as an ordinary failed attempt; the retry after backoff delivered.
    expect(job.attemptsMade).toBe(2);
    expect(slackPostsFor(id)).toHaveLength(1);
  });

  it("fails fast on a 4xx with the channel's message in the log and on the timeline", async () => {
    const { logger, lines } = captureLogs();
    await start({ PAGERDUTY_ROUTING_KEY: 'not-the-key' }, logger);
    const id = await openIncident(t, { alertname: 'HighLatency', level: 2 });
    const jobId = await send({
      incidentId: id,
      event: 'escalated',
      severity: 'critical',
      title: 'Escalated',
      text: 'x',
    });
    const { job, state } = await settled(jobId);
    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toContain('pagerduty');
    const failure = (await notifications(id)).find((e) => e.channel === 'pagerduty');
    expect(failure).toMatchObject({ result: 'failed', event: 'escalated' });
    expect(String(failure?.error)).toContain("'routing_key' is invalid");
    expect(slackPostsFor(id)).toHaveLength(1);
    const logged = lines.find((line) => line.msg === 'notification failed' && line.channel === 'pagerduty');
    expect(String(logged?.error)).toContain('Event object is invalid');
    expect(JSON.stringify(lines)).not.toContain(pd.routingKey);
  });

  it('fails a malformed job at once with a clear reason', async () => {
    const { logger, lines } = captureLogs();
    await start({}, logger);
    await queues.ingest.add(
      'incident_opened',
      { incidentId: 'inc 1', event: 'paged' } as unknown as NotificationJob,
      {
        jobId: 'bad-job',
      },
    );
    const { job, state } = await settled('bad-job');
    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toContain('invalid notification job bad-job');
    expect(job.failedReason).toContain('eventId');
    expect(lines.some((line) => String(line.msg).startsWith('invalid notification job bad-job'))).toBe(true);
  });

  it('refuses a notice its source may not send: triage cannot forge an approval request or a breaker page', async () => {
    const { logger, lines } = captureLogs();
    const service = await start({}, logger);
    const id = await openIncident(t, { alertname: 'HighLatency', level: 2 });
    await settled(`opened-${id}`);
    const before = slackPostsFor(id).length;
    const forged = ['approval_requested', 'breaker_open'] as const;
    for (const event of forged)
      await enqueueNotification(queues.triage, {
        eventId: `forged-${event}`,
        incidentId: id,
        event,
        severity: 'critical',
        title: 'Approve now',
        text: '<https://evil.example|Approve>',
        approvalId: 'apr_forged',
      });
    for (const event of forged) {
      const { job, state } = await settled(`forged-${event}`);
      expect(state).toBe('failed');
      expect(job.attemptsMade).toBe(1);
      expect(job.failedReason).toBe(`refused notification forged-${event}: triage may not announce ${event}`);
    }
    expect(slackPostsFor(id)).toHaveLength(before);
    expect(pagerDutyFor(id).filter((r) => r.body.event_action === 'trigger')).toHaveLength(0);
    expect(lines.filter((line) => String(line.msg).startsWith('refused notification'))).toHaveLength(2);
    const metrics = await service.metrics.registry.getSingleMetricAsString('hermes_notifications_total');
    expect(metrics).toMatch(
      /hermes_notifications_total\{channel="none",result="refused",service="notifier"\} 2/,
    );
  });

  it('logs every event to the console when no channel is configured, saying so once at start', async () => {
    const { logger, lines } = captureLogs();
    await start(
      { SLACK_BOT_TOKEN: '', SLACK_CHANNEL: '', PAGERDUTY_ROUTING_KEY: '', NOTIFIER_ROUTES_FILE: '' },
      logger,
    );
    const id = await openIncident(t, { alertname: 'DiskSpaceLow', level: 1 });
    const first = await send({ incidentId: id, event: 'fixed', title: 'Disk cleaned', text: 'first' });
    const second = await send({ incidentId: id, event: 'diagnosis', title: 'Old logs', text: 'second' });
    // Ingest announces every new incident too; with no channel configured, that is logged as well.
    const ids = [`opened-${id}`, first, second];
    for (const jobId of ids) await settled(jobId);
    const logged = lines.flatMap((line) => {
      const notification = line.notification as { eventId: string; text: string } | undefined;
      return notification ? [notification.eventId] : [];
    });
    expect(logged.sort()).toEqual([...ids].sort());
    const texts = lines.map((line) => (line.notification as { text?: string } | undefined)?.text);
    expect(texts).toContain('first');
    expect(texts).toContain('second');
    expect(lines.filter((line) => String(line.msg).startsWith('slack not configured'))).toHaveLength(1);
    expect((await notifications(id)).map((e) => e.channel)).toEqual(['console', 'console', 'console']);
  });

  it('in digest mode schedules the digest and sends queued events as one email', async () => {
    const smtp = await startSmtpSink();
    try {
      await start({ SMTP_URL: smtp.url, EMAIL_TO: 'oncall@example.com', EMAIL_MODE: 'digest' });
      expect(await digestQueue.getJobScheduler(EMAIL_DIGEST_JOB)).toMatchObject({ every: 60 * 60_000 });
      const id = await openIncident(t, { alertname: 'HighLatency', level: 2 });
      for (const text of ['one', 'two']) {
        const jobId = await send({
          incidentId: id,
          event: 'message',
          title: `Note ${text}`,
          text,
          channels: ['email'],
        });
        await settled(jobId);
      }
      expect(smtp.messages).toHaveLength(0);
      expect((await notifications(id)).map((e) => e.result)).toEqual(['queued', 'queued']);
      await digestQueue.add(EMAIL_DIGEST_JOB, {}, { jobId: 'digest-now' });
      expect((await settled('digest-now')).state).toBe('completed');
      expect(smtp.messages).toHaveLength(1);
      expect(smtp.messages[0]?.raw).toContain('Subject: [Hermes] digest: 2 notifications');
    } finally {
      await smtp.close();
    }
  });

  it('close() lets an in-flight delivery finish before it returns', async () => {
    const service = await start();
    const id = await openIncident(t, { alertname: 'DiskSpaceLow', level: 1 });
    slack.script({ delayMs: 300 });
    const jobId = await send({ incidentId: id, event: 'fixed', title: 'Disk cleaned', text: 'Freed 3 GiB.' });
    await eventually(
      async () => slack.requests.some((r) => JSON.stringify(r.body).includes(id)),
      'slack request',
    );
    expect(slackPostsFor(id)).toHaveLength(0);
    await service.close();
    running = running.filter((s) => s !== service);
    expect(await queues.triage.getJobState(jobId)).toBe('completed');
    expect(slackPostsFor(id)).toHaveLength(1);
  });

  it('uses the channels named on the job instead of the routing rules', async () => {
    const smtp = await startSmtpSink();
    try {
      await start({ SMTP_URL: smtp.url, EMAIL_TO: 'oncall@example.com' });
      const id = await openIncident(t, { alertname: 'DatabaseFailover', level: 3 });
      await settled(`opened-${id}`);
      const before = slackPostsFor(id).length;
      const jobId = await send({
        incidentId: id,
        event: 'message',
        title: 'FYI',
        text: 'by email',
        channels: ['email'],
      });
      await settled(jobId);
      expect(slackPostsFor(id)).toHaveLength(before);
      expect(smtp.messages.filter((m) => m.raw.includes('Subject: [Hermes] [L3] FYI'))).toHaveLength(1);
    } finally {
      await smtp.close();
    }
  });

  it('routes by the NOTIFIER_ROUTES_FILE in force: an edit applies to the next notice, without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hermes-routes-'));
    const routes = join(dir, 'routes.yaml');
    writeFileSync(routes, 'rules:\n  - { levels: [3], channels: [slack] }\n');
    try {
      await start({ NOTIFIER_ROUTES_FILE: routes });
      const first = await openIncident(t, { alertname: 'DatabaseFailover', level: 3 });
      await settled(`opened-${first}`);
      expect([slackPostsFor(first).length, pagerDutyFor(first).length]).toEqual([1, 0]);
      const loaded = (await readConfigVersions(t.redis, t.keys)).notifier?.NOTIFIER_ROUTES_FILE?.version;
      expect(loaded?.file).toBe(routes);

      writeFileSync(routes, 'rules:\n  - { levels: [3], channels: [pagerduty] }\n');
      await eventually(async () => {
        const now = (await readConfigVersions(t.redis, t.keys)).notifier?.NOTIFIER_ROUTES_FILE?.version;
        return now && now.sha256 !== loaded?.sha256;
      }, 'the notifier to load the edited routes');
      const second = await openIncident(t, { alertname: 'DatabaseFailover', level: 3 });
      await settled(`opened-${second}`);
      expect([slackPostsFor(second).length, pagerDutyFor(second).length]).toEqual([0, 1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
