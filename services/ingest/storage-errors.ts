import type { Logger } from '../../shared/logger.js';
import { redisFailure } from '../../shared/redis-errors.js';

/** The answer to a request that failed, logged: 503 (retry later) while storage is away or full, else 500. */
export function failureReply(
  error: Error,
  logger: Logger,
  path: string,
): { status: 503 | 500; body: { error: string } } {
  switch (redisFailure(error)) {
    case 'full':
      // A script denied at its first write leaves nothing behind (Redis checks memory once, before it).
      logger.error({ err: error.message, path }, 'redis is full (maxmemory): answering 503');
      return { status: 503, body: { error: 'storage full, retry later' } };
    case 'unavailable':
      logger.warn({ err: error.message, path }, 'redis unavailable: answering 503');
      return { status: 503, body: { error: 'storage unavailable, retry later' } };
    default:
      logger.error({ err: error, path }, 'request failed');
      return { status: 500, body: { error: 'internal error' } };
  }
}
