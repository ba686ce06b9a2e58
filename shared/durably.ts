import { HermesError } from './errors.js';
import type { Logger } from './logger.js';
import { redisFailure } from './redis-errors.js';

const FIRST_WAIT_MS = 100;
const MAX_WAIT_MS = 5_000;

/**
 * Retries a write until it is stored: for records of something that already happened (an action
 * that ran), which must not be lost to a Redis blip. Gives up after `maxMs` with the last error.
 */
export async function untilStored<T>(
  write: () => Promise<T>,
  what: string,
  logger: Logger,
  maxMs = 10 * 60_000,
): Promise<T> {
  const deadline = Date.now() + maxMs;
  let wait = FIRST_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      // Only a Redis that is away or full is waited out; a refusal (NOPERM, bad data) would repeat.
      if (!retryable(error) || Date.now() + wait > deadline) throw error;
      if (attempt === 1 || attempt % 10 === 0)
        logger.warn({ err: (error as Error).message, attempt }, `${what} not stored yet; retrying`);
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(MAX_WAIT_MS, wait * 2);
    }
  }
}

function retryable(error: unknown): boolean {
  return redisFailure(error) !== null || (error instanceof HermesError && error.retryable);
}
