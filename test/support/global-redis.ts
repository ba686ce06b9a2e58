import type { TestProject } from 'vitest/node';
import { INSTALL_HINT, type LocalRedis, redisServerBinary, startRedisServer } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisSource: string;
  }
}

/**
 * One Redis for the whole run, chosen in this order: REDIS_URL; Testcontainers' Redis module when a
 * container runtime can start it; a local redis-server on a free port. Tests isolate themselves by
 * key prefix, never by sharing keys.
 */
export default async function setup(project: TestProject) {
  if (process.env.REDIS_URL) {
    project.provide('redisUrl', process.env.REDIS_URL);
    project.provide('redisSource', 'REDIS_URL');
    return;
  }
  const container = await tryTestcontainers();
  if (container) {
    project.provide('redisUrl', container.url);
    project.provide('redisSource', 'testcontainers');
    return container.stop;
  }
  if (!redisServerBinary()) throw new Error(INSTALL_HINT);
  const local: LocalRedis = await startRedisServer();
  project.provide('redisUrl', local.url);
  project.provide('redisSource', 'redis-server');
  console.log(`[test redis] local redis-server on ${local.url}`);
  return () => local.stop();
}

async function tryTestcontainers(): Promise<{ url: string; stop: () => Promise<void> } | null> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await withTimeout(getContainerRuntimeClient(), 5_000);
    const { RedisContainer } = await import('@testcontainers/redis');
    const started = await withTimeout(new RedisContainer('redis:7-alpine').start(), 60_000);
    console.log('[test redis] Testcontainers redis:7-alpine');
    return {
      url: started.getConnectionUrl(),
      stop: async () => {
        await started.stop();
      },
    };
  } catch (error) {
    console.log(
      `[test redis] no container runtime (${(error as Error).message.split('\n')[0]}); using redis-server`,
    );
    return null;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
