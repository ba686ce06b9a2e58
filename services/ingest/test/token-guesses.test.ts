import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import { matcher } from '../auth.js';
import { type GuessLimits, TokenGuessLimiter } from '../token-guesses.js';

const TOKEN = 'the-admin-token';
const limits: GuessLimits = { perAddress: 10, perGuess: 5, windowSeconds: 300, slowedCheckEveryMs: 400 };

let t: TestRedis;
beforeAll(async () => {
  t = await openTestRedis();
});
afterAll(() => t.close());

function limiter() {
  return new TokenGuessLimiter(t.redis, t.keys, matcher(TOKEN), limits);
}

describe('token guess limits', () => {
  it('counts before it compares: 200 concurrent wrong tokens get at most 10 checks, plus one slowed check', async () => {
    const guesses = limiter();
    let compared = 0;
    const counting = new TokenGuessLimiter(
      t.redis,
      t.keys,
      (given) => {
        compared++;
        return given === TOKEN;
      },
      limits,
    );
    const verdicts = await Promise.all(
      Array.from({ length: 200 }, (_, i) => counting.check('203.0.113.7', `guess-${i}`)),
    );
    const statuses = verdicts.map((v) => (v.ok ? 200 : v.status));
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(190);
    expect(compared).toBeLessThanOrEqual(11);
    expect(compared).toBeGreaterThanOrEqual(10);
    // Another address is not affected.
    expect(await guesses.check('198.51.100.1', TOKEN)).toEqual({ ok: true });
  });

  it('lets the right token through from a slowed-down address, one check per slot', async () => {
    const guesses = limiter();
    const address = '203.0.113.8';
    for (let i = 0; i < 10; i++) expect((await guesses.check(address, `wrong-${i}`)).ok).toBe(false);
    // A stranger behind the same address keeps guessing: each slot checks one token.
    const wrong = await guesses.check(address, 'wrong-again');
    expect(wrong).toMatchObject({ ok: false, status: 429 });
    const waiting = await guesses.check(address, TOKEN);
    expect(waiting).toMatchObject({
      ok: false,
      status: 429,
      reason: 'too many wrong tokens from this address',
    });
    await new Promise((resolve) => setTimeout(resolve, limits.slowedCheckEveryMs + 50));
    expect(await guesses.check(address, TOKEN)).toEqual({ ok: true });
  });

  it('refuses a wrong token tried too often from anywhere, unchecked, while the right one passes', async () => {
    const guesses = limiter();
    for (let i = 0; i < 5; i++)
      expect(await guesses.check(`192.0.2.${i}`, 'stale-token')).toMatchObject({ status: 401 });
    expect(await guesses.check('192.0.2.99', 'stale-token')).toMatchObject({
      ok: false,
      status: 429,
      reason: 'this token was refused too often; wait',
    });
    expect(await guesses.check('192.0.2.99', TOKEN)).toEqual({ ok: true });
  });

  it('does not count the right token as a failure', async () => {
    const guesses = limiter();
    for (let i = 0; i < 50; i++) expect(await guesses.check('203.0.113.9', TOKEN)).toEqual({ ok: true });
    expect(await t.redis.get(t.keys.guesses('address:203.0.113.9'))).toBe('0');
    expect(await guesses.check('203.0.113.9', 'one-wrong')).toMatchObject({ status: 401 });
  });
});
