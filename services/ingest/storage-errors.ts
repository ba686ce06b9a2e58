import type { Logger } from '../../shared/logger.js';

/** Redis changed under a request (flushed, failed over): the sender should retry (503). */
export class StorageChangedError extends Error {}

/** Errors that mean "Redis is away or was replaced": the sender should retry later (503). */
function isStorageUnavailable(error: Error): boolean {
  return (
    error instanceof StorageChangedError ||
    /Stream isn't writeable|Connection is closed|ECONNREFUSED|max retries|Command timed out|enableOfflineQueue|ETIMEDOUT|CLUSTERDOWN|LOADING/i.test(
      error.message,
    )
  );
}

/** The answer to a request that failed, logged: 503 (retry later) while storage is away or full, else 500. */
export function failureReply(
  error: Error,
  logger: Logger,
  path: string,
): { status: 503 | 500; body: { error: string } } {
  // A script denied at its first write leaves nothing behind (Redis checks memory once, before it).
  if (error.message.startsWith('OOM ')) {
    logger.error({ err: error.message, path }, 'redis is full (maxmemory): answering 503');
    return { status: 503, body: { error: 'storage full, retry later' } };
  }
  if (isStorageUnavailable(error)) {
    logger.warn({ err: error.message, path }, 'redis unavailable: answering 503');
    return { status: 503, body: { error: 'storage unavailable, retry later' } };
  }
  logger.error({ err: error, path }, 'request failed');
  return { status: 500, body: { error: 'internal error' } };
}
