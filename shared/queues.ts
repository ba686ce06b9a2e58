import { type JobsOptions, Queue, QueueEvents } from 'bullmq';
import type { RedisConnection } from './redis.js';

/** The services that send notices; each has its own queue and outbox, which only it may write (ACL). */
export const NOTICE_SOURCES = ['ingest', 'triage', 'executor'] as const;
export type NoticeSource = (typeof NOTICE_SOURCES)[number];

/**
 * Queues by writer, so the Redis ACL can keep each service to its own: humans' approved actions and
 * breaker resets reach the executor on `actions` (ingest, executor), the agent's requests on
 * `agent-actions` (triage), and every notice source writes its own notifications queue.
 */
export const QUEUE = {
  triage: 'triage',
  actions: 'actions',
  agentActions: 'agent-actions',
  notifications: {
    ingest: 'notifications-ingest',
    triage: 'notifications-triage',
    executor: 'notifications-executor',
  },
  /** The notifier's own: the email digest's schedule. */
  emailDigest: 'email-digest',
} as const;
export type QueueName =
  | typeof QUEUE.triage
  | typeof QUEUE.actions
  | typeof QUEUE.agentActions
  | (typeof QUEUE.notifications)[NoticeSource]
  | typeof QUEUE.emailDigest;

/** The triage job that investigates a new incident (one per incident, so queueing it twice is a no-op). */
export function triageJobId(incidentId: string): string {
  return `triage-${incidentId}`;
}

/**
 * A triage job that looks at an incident again, one per `cause` (a re-run's round, an executed
 * approval's action, a verification's attempt), so queueing it twice is a no-op too.
 */
export function triageFollowUpJobId(incidentId: string, cause: string): string {
  return `${triageJobId(incidentId)}-${cause}`;
}

/** Retention keeps Redis bounded while leaving recent history for Bull Board. */
const TRIAGE_JOBS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { count: 5_000, age: 7 * 24 * 3600 },
  removeOnFail: { count: 5_000, age: 30 * 24 * 3600 },
};
// Side effects are at-most-once: the executor reports unknown outcomes instead of retrying.
const ACTION_JOBS: JobsOptions = {
  attempts: 1,
  removeOnComplete: { count: 10_000, age: 7 * 24 * 3600 },
  removeOnFail: { count: 10_000, age: 30 * 24 * 3600 },
};
const NOTIFICATION_JOBS: JobsOptions = {
  attempts: 12,
  backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
  removeOnComplete: { count: 10_000, age: 7 * 24 * 3600 },
  removeOnFail: { count: 10_000, age: 30 * 24 * 3600 },
};

export const DEFAULT_JOB_OPTIONS: Record<QueueName, JobsOptions> = {
  triage: TRIAGE_JOBS,
  actions: ACTION_JOBS,
  'agent-actions': ACTION_JOBS,
  'notifications-ingest': NOTIFICATION_JOBS,
  'notifications-triage': NOTIFICATION_JOBS,
  'notifications-executor': NOTIFICATION_JOBS,
  'email-digest': { attempts: 5, backoff: { type: 'exponential', delay: 30_000 } },
};

/** `observer`: a queue another service writes, opened only to look at it (writes nothing on open). */
export function createQueue<T>(
  name: QueueName,
  connection: RedisConnection,
  prefix: string,
  options: { observer?: boolean } = {},
): Queue<T> {
  return new Queue<T>(name, {
    connection,
    prefix,
    defaultJobOptions: DEFAULT_JOB_OPTIONS[name],
    skipMetasUpdate: options.observer ?? false,
  });
}

export function createQueueEvents(name: QueueName, connection: RedisConnection, prefix: string): QueueEvents {
  return new QueueEvents(name, { connection, prefix });
}
