import { HermesError } from './errors.js';

/** Redis changed under a request (flushed, failed over): the sender should try again. */
export class StorageChangedError extends HermesError {
  constructor(message: string) {
    super(message, { retryable: true });
  }
}

/**
 * What a failed Redis command means, decided here once. ioredis reports a lost or refused connection
 * as a plain Error, and Redis its state as a reply prefix, so both are read from the message.
 * - `unavailable`: Redis is away, starting, or failing over; retry later.
 * - `full`: past `maxmemory`; a script refused at its first write wrote nothing; retry later.
 * - null: anything else (a bug, bad data, NOPERM): retrying the same request will not help.
 */
export type RedisFailure = 'unavailable' | 'full' | null;

const UNAVAILABLE =
  /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|max retries|Command timed out|enableOfflineQueue|ETIMEDOUT|^CLUSTERDOWN|^LOADING|^MASTERDOWN|^TRYAGAIN/i;

export function redisFailure(error: unknown): RedisFailure {
  if (error instanceof StorageChangedError) return 'unavailable';
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith('OOM ')) return 'full';
  return UNAVAILABLE.test(message) ? 'unavailable' : null;
}
