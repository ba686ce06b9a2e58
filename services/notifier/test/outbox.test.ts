import type { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IncidentStore } from '../../../shared/incidents.js';
import { createLogger } from '../../../shared/logger.js';
import { escalatedNotice } from '../../../shared/notices.js';
import { NotificationOutbox } from '../../../shared/outbox.js';
import type { NoticeSource } from '../../../shared/queues.js';
import { createQueue, QUEUE } from '../../../shared/queues.js';
import type { IncidentSummary } from '../../../shared/schemas/incident.js';
import type { NotificationJob } from '../../../shared/schemas/jobs.js';
import { createPendingApproval } from '../../../test/support/approvals.js';
import { openIncident } from '../../../test/support/incidents.js';
import { openTestRedis, type TestRedis } from '../../../test/support/redis.js';

let t: TestRedis;
let queue: Queue<NotificationJob>;
let store: IncidentStore;
let outbox: NotificationOutbox;
let incident: IncidentSummary;
const logged: Record<string, unknown>[] = [];
const logger = createLogger('notifier', 'info', {
  write: (line: string) => {
    logged.push(JSON.parse(line) as Record<string, unknown>);
  },
});

beforeEach(async () => {
  t = await openTestRedis();
  queue = createQueue<NotificationJob>(QUEUE.notifications.triage, t.redis, t.keys.bullPrefix);
  store = new IncidentStore(t.redis, t.keys);
  outbox = new NotificationOutbox(t.redis, t.keys, 'triage', queue);
  const id = await openIncident(t, { alertname: 'ServiceDown', service: 'api', severity: 'critical' });
  incident = (await store.getSummary(id)) as IncidentSummary;
});
afterEach(async () => {
  await queue.close();
  await t.close();
});

function escalation(round = 'alert'): NotificationJob {
  return escalatedNotice(incident, { kind: 'no_change_allowed', storm: false }, round);
}

async function recorded(source: NoticeSource = 'triage'): Promise<string[]> {
  return Object.keys(await t.redis.hgetall(t.keys.outbox(source)));
}

/** The escalation notices queued (opening the incident queued its own `incident_opened`). */
async function queuedIds(): Promise<string[]> {
  const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed']);
  return jobs.filter((job) => job.data.event === 'escalated').map((job) => job.id as string);
}

describe('notices recorded with the status change', () => {
  it('records the notice in the status change only when the status changes', async () => {
    const notice = escalation();
    expect(
      await store.setStatus(incident.id, 'escalated', 'triage', {
        notice: { source: 'triage', job: notice },
      }),
    ).toBe('open');
    expect(await recorded()).toEqual([notice.eventId]);

    await t.redis.del(t.keys.outbox('triage'));
    // Already escalated (a retried job), or refused by the guard: nothing to announce.
    expect(
      await store.setStatus(incident.id, 'escalated', 'triage', {
        notice: { source: 'triage', job: notice },
      }),
    ).toBe('escalated');
    expect(
      await store.setStatus(incident.id, 'resolved', 'triage', {
        from: ['awaiting_approval'],
        notice: { source: 'triage', job: escalation('other') },
      }),
    ).toBeNull();
    expect(await recorded()).toEqual([]);
  });

  it('deliver queues the notice and clears it from the outbox', async () => {
    const notice = escalation();
    await store.setStatus(incident.id, 'escalated', 'triage', { notice: { source: 'triage', job: notice } });
    await outbox.deliver(notice);
    expect(await recorded()).toEqual([]);
    expect(await queuedIds()).toEqual([notice.eventId]);
  });
});

describe('an approval request', () => {
  it('is written together with the notice asking for it', async () => {
    await createPendingApproval(t.redis, t.keys, { id: 'apr_outbox', incidentId: incident.id });
    expect(await recorded('executor')).toEqual(['approval-apr_outbox']);
    expect(await recorded('triage')).toEqual([]);
  });
});

describe('relay', () => {
  it('queues a notice its writer died before queueing, once it is old enough, exactly once', async () => {
    const notice = escalation();
    await store.setStatus(incident.id, 'escalated', 'triage', { notice: { source: 'triage', job: notice } });
    // The writer stopped here: the status changed, its notice is only in the outbox.
    expect(await outbox.relay(60_000, logger)).toBe(0);
    expect(await queuedIds()).toEqual([]);

    expect(await outbox.relay(60_000, logger, Date.now() + 61_000)).toBe(1);
    expect(await queuedIds()).toEqual([notice.eventId]);
    const job = await queue.getJob(notice.eventId);
    expect(job?.data).toMatchObject({ event: 'escalated', severity: 'critical', incidentId: incident.id });
    expect(await recorded()).toEqual([]);
    expect(await outbox.relay(0, logger)).toBe(0);
  });

  it('a writer that queued but died before clearing is relayed as a no-op (same job id)', async () => {
    const notice = escalation();
    await store.setStatus(incident.id, 'escalated', 'triage', { notice: { source: 'triage', job: notice } });
    await queue.add(notice.event, notice as never, { jobId: notice.eventId });
    expect(await outbox.relay(0, logger)).toBe(1);
    expect(await queuedIds()).toEqual([notice.eventId]);
  });

  it('drops an unreadable entry with an error naming it', async () => {
    await t.redis.hset(t.keys.outbox('triage'), 'broken-1', '{"recordedMs":"soon"}', 'broken-2', 'not json');
    expect(await outbox.relay(0, logger)).toBe(0);
    expect(await recorded()).toEqual([]);
    const errors = logged.filter((line) => line.msg === 'unreadable outbox entry dropped');
    expect(errors.map((line) => line.eventId).sort()).toEqual(['broken-1', 'broken-2']);
  });
});
