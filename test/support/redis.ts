import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { type Keyspace, keyspace } from '../../shared/keys.js';

export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A fresh key prefix per test, so suites can share one Redis without seeing each other. */
export function uniquePrefix(): string {
  return `t-${randomBytes(5).toString('hex')}`;
}

export interface TestRedis {
  url: string;
  prefix: string;
  keys: Keyspace;
  redis: Redis;
  close(): Promise<void>;
}

export async function openTestRedis(): Promise<TestRedis> {
  const url = testRedisUrl();
  const prefix = uniquePrefix();
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  return {
    url,
    prefix,
    keys: keyspace(prefix),
    redis,
    async close() {
      redis.disconnect();
    },
  };
}

/** Polls until `check` returns a truthy value or the timeout passes (then throws with `what`). */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
