import { type JobsOptions, Queue, QueueEvents } from 'bullmq';
import type { RedisConnection } from './redis.js';

export const QUEUE = { triage: 'triage', actions: 'actions', notifications: 'notifications' } as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

/** Retention keeps Redis bounded while leaving recent history for Bull Board. */
export const DEFAULT_JOB_OPTIONS: Record<QueueName, JobsOptions> = {
  triage: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: { count: 5_000, age: 7 * 24 * 3600 },
    removeOnFail: { count: 5_000, age: 30 * 24 * 3600 },
  },
  // Side effects are at-most-once: the executor reports unknown outcomes instead of retrying.
  actions: {
    attempts: 1,
    removeOnComplete: { count: 10_000, age: 7 * 24 * 3600 },
    removeOnFail: { count: 10_000, age: 30 * 24 * 3600 },
  },
  notifications: {
    attempts: 12,
    backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
    removeOnComplete: { count: 10_000, age: 7 * 24 * 3600 },
    removeOnFail: { count: 10_000, age: 30 * 24 * 3600 },
  },
};

export function createQueue<T>(name: QueueName, connection: RedisConnection, prefix: string): Queue<T> {
  return new Queue<T>(name, { connection, prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS[name] });
}

export function createQueueEvents(name: QueueName, connection: RedisConnection, prefix: string): QueueEvents {
  return new QueueEvents(name, { connection, prefix });
}
