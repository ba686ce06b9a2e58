import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { redactUrlCredentials } from './redact.js';

export type RedisConnection = Redis | Cluster;

export interface RedisSettings {
  REDIS_URL?: string | undefined;
  REDIS_CLUSTER_NODES?: string | undefined;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * `blocking` connections are for BullMQ workers and QueueEvents (they must retry forever);
 * `command` connections fail fast so an HTTP request can answer 503 instead of hanging.
 */
export type ConnectionRole = 'blocking' | 'command';

export function createRedis(settings: RedisSettings, role: ConnectionRole = 'command'): RedisConnection {
  const options: RedisOptions =
    role === 'blocking'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000, commandTimeout: 5_000 };
  const retryStrategy = (times: number) => Math.min(50 * 2 ** times, 2_000);
  if (settings.REDIS_CLUSTER_NODES) {
    const nodes = settings.REDIS_CLUSTER_NODES.split(',').map((hostPort) => {
      const url = new URL(hostPort.includes('://') ? hostPort : `redis://${hostPort}`);
      return { host: url.hostname, port: Number(url.port || 6379) };
    });
    return new Cluster(nodes, {
      redisOptions: options,
      enableOfflineQueue: role === 'blocking',
      clusterRetryStrategy: retryStrategy,
    });
  }
  return new Redis(settings.REDIS_URL ?? DEFAULT_REDIS_URL, { ...options, retryStrategy });
}

/** Where a connection goes, without its password: `redis://hermes@redis:6379/0`. */
export function describeRedis(redis: RedisConnection): string {
  if (redis instanceof Cluster) return 'the Redis Cluster of REDIS_CLUSTER_NODES';
  const { host, port, db, username, path } = redis.options;
  if (path) return `redis+unix://${path}`;
  return `redis://${username ? `${username}@` : ''}${host}:${port}/${db ?? 0}`;
}

/** Waits until a connection is ready; after the timeout throws naming where and the last error. */
export async function waitForRedis(redis: RedisConnection, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  let lastError = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(
          `Redis not ready after ${timeoutMs} ms at ${describeRedis(redis)}${
            lastError ? ` (${redactUrlCredentials(lastError)})` : ''
          }: is it running, and is REDIS_URL (or REDIS_CLUSTER_NODES) right?`,
        ),
      );
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      lastError = error.message;
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
    };
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}

/** Polls a freshly started redis-server until it answers PING; false when `deadlineMs` passes or `gaveUp()`. */
export async function pingUntilReady(
  url: string,
  deadlineMs: number,
  gaveUp: () => boolean = () => false,
): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline && !gaveUp()) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return true;
    } catch {
      // not listening yet
    } finally {
      client.disconnect();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
