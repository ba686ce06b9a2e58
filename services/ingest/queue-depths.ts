import type { Queue } from 'bullmq';
import type { Metrics } from '../../shared/metrics.js';

/** Jobs waiting (or delayed) per queue: what `hermes_queue_depth` reports. */
export async function queueDepths(queues: Queue[]): Promise<Record<string, number>> {
  const depths = await Promise.all(
    queues.map(async (queue) => {
      const counts = await queue.getJobCounts('wait', 'prioritized', 'delayed');
      return [queue.name, (counts.wait ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0)] as const;
    }),
  );
  return Object.fromEntries(depths);
}

export async function updateQueueDepth(queues: Queue[], metrics: Metrics): Promise<void> {
  for (const [queue, depth] of Object.entries(await queueDepths(queues)))
    metrics.queueDepth.set({ queue }, depth);
}
