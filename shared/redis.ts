import { Cluster, Redis, type RedisOptions } from 'ioredis';

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

/** Waits until a connection is ready (or throws after the timeout). */
export async function waitForRedis(redis: RedisConnection, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
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
