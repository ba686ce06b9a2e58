import type { Queue } from 'bullmq';
import { randomId } from '../../shared/ids.js';
import type { BreakerResetJob } from '../../shared/schemas/jobs.js';

const WAIT_MS = 5_000;

/**
 * Asks the executor, which alone writes the breaker and the audit chain, to close the breaker.
 * Waits a little for it: `done` says whether the executor has carried it out yet.
 */
export async function requestBreakerReset(
  actions: Queue,
  request: BreakerResetJob,
): Promise<{ done: boolean }> {
  const job = await actions.add('breaker_reset', request, {
    jobId: randomId('breaker-reset'),
    removeOnComplete: 100,
    removeOnFail: 100,
  });
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    if (await job.isCompleted()) return { done: true };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { done: false };
}
