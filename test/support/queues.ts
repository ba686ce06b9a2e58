import type { Queue } from 'bullmq';

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
