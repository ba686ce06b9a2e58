import { expect, it } from 'vitest';
import { createRedis, waitForRedis } from '../../shared/redis.js';
import { freePort } from '../support/redis-server.js';

it('"Redis not ready" names where it looked, without the password, and why', async () => {
  const port = await freePort();
  const redis = createRedis({ REDIS_URL: `redis://hermes:s3cret-pw@127.0.0.1:${port}/2` }, 'blocking');
  redis.on('error', () => undefined);
  try {
    const error = await waitForRedis(redis, 800).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^Redis not ready after 800 ms at redis://hermes@127\\.0\\.0\\.1:${port}/2 \\(connect ECONNREFUSED [^)]*\\): is it running, and is REDIS_URL`,
      ),
    );
    expect((error as Error).message).not.toContain('s3cret');
  } finally {
    redis.disconnect();
  }
});
