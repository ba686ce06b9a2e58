import type { Queue } from 'bullmq';
import { createQueue, QUEUE } from '../../shared/queues.js';
import type { TriageJob } from '../../shared/schemas/jobs.js';
import type { TestRedis } from './redis.js';

/** True once the queue holds no job waiting, running or delayed: whatever was added has finished. */
export async function queueIdle(queue: Queue): Promise<boolean> {
  const left = await queue.getJobCounts(
    'waiting',
    'active',
    'delayed',
    'prioritized',
    'paused',
    'waiting-children',
  );
  return Object.values(left).every((n) => n === 0);
}

/**
 * Drops what waits on triage's queue: incidents earlier tests opened with no triage running, so a
 * triage started now sees only its own.
 */
export async function dropWaitingTriage(t: TestRedis): Promise<void> {
  const queue = createQueue<TriageJob>(QUEUE.triage, t.redis, t.keys.bullPrefix);
  try {
    await queue.drain(true);
  } finally {
    await queue.close();
  }
}
