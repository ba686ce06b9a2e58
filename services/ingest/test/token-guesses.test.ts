import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import { type GuessLimits, TokenGuessLimiter } from '../token-guesses.js';

const limits: GuessLimits = {
  perAddress: 10,
  perGuess: 5,
  windowSeconds: 300,
  slowReplyMs: 0,
  maxSlowReplies: 100,
};

let t: TestRedis;
beforeAll(async () => {
  t = await openTestRedis();
});
afterAll(() => t.close());

const limiter = () => new TokenGuessLimiter(t.redis, t.keys, limits);

describe('wrong-token limits', () => {
  it('counts concurrent wrong tokens exactly: 200 at once from one address, 10 answered 401, the rest 429', async () => {
    const guesses = limiter();
    const verdicts = await Promise.all(
      Array.from({ length: 200 }, (_, i) => guesses.wrongToken('203.0.113.7', `guess-${i}`)),
    );
    const statuses = verdicts.map((v) => v.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(190);
    expect(verdicts.find((v) => v.status === 429)).toMatchObject({
      reason: 'too many wrong tokens from this address',
      retryAfterSeconds: expect.any(Number),
    });
    // Another address is not affected.
    expect(await guesses.wrongToken('198.51.100.1', 'guess-x')).toEqual({
      status: 401,
      reason: 'wrong token',
    });
  });

  it('limits one wrong token tried too often from anywhere', async () => {
    const guesses = limiter();
    for (let i = 0; i < 5; i++)
      expect(await guesses.wrongToken(`192.0.2.${i}`, 'stale-token')).toMatchObject({ status: 401 });
    expect(await guesses.wrongToken('192.0.2.99', 'stale-token')).toMatchObject({
      status: 429,
      reason: 'this token was refused too often; wait',
    });
  });

  it('keeps the counts for the window only', async () => {
    await limiter().wrongToken('203.0.113.9', 'one-wrong');
    const ttl = await t.redis.ttl(t.keys.guesses('address:203.0.113.9'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(limits.windowSeconds);
  });
});
