import { createHash } from 'node:crypto';
import type { Keyspace } from '../../shared/keys.js';
import { loadLua } from '../../shared/lua.js';
import type { RedisConnection } from '../../shared/redis.js';

export interface GuessLimits {
  /** Wrong tokens from one address within the window before it is slowed down. */
  perAddress: number;
  /** Times one wrong token may be tried (from anywhere) within the window before it is refused unchecked. */
  perGuess: number;
  windowSeconds: number;
  /** A slowed-down address gets one token checked per this many ms; the rest wait (429). */
  slowedCheckEveryMs: number;
}

const DEFAULT_GUESS_LIMITS: GuessLimits = {
  perAddress: 10,
  perGuess: 5,
  windowSeconds: 300,
  slowedCheckEveryMs: 2_000,
};

export type GuessVerdict =
  | { ok: true }
  | { ok: false; status: 401; reason: string }
  | { ok: false; status: 429; reason: string; retryAfterSeconds: number };

const reserveScript = loadLua(new URL('./lua/reserve-guess-3.lua', import.meta.url));

/**
 * Limits guesses at the admin token (console sign-in, API bearer, Bull Board basic), per address and
 * per guessed value, without letting a stranger lock the admin out: a slowed-down address still gets
 * one token checked every few seconds, so the right token gets through while guessing stays slow.
 * Counted in Redis, so across ingest replicas.
 */
export class TokenGuessLimiter {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
    private readonly matches: (given: string) => boolean,
    private readonly limits: GuessLimits = DEFAULT_GUESS_LIMITS,
  ) {}

  async check(address: string, presented: string): Promise<GuessVerdict> {
    const guess = createHash('sha256').update(presented).digest('hex').slice(0, 32);
    const addressKey = this.keys.guesses(`address:${address}`);
    const guessKey = this.keys.guesses(`token:${guess}`);
    const [state, waitMs] = (await reserveScript.run(
      this.redis,
      [addressKey, guessKey, this.keys.guesses(`slot:${address}`)],
      [
        String(this.limits.perAddress),
        String(this.limits.perGuess),
        String(this.limits.windowSeconds),
        String(this.limits.slowedCheckEveryMs),
      ],
    )) as [string, number];
    const retryAfterSeconds = Math.max(1, Math.ceil(Number(waitMs) / 1000));
    if (state === 'guess')
      return { ok: false, status: 429, reason: 'this token was refused too often; wait', retryAfterSeconds };
    if (state === 'wait')
      return { ok: false, status: 429, reason: 'too many wrong tokens from this address', retryAfterSeconds };
    if (this.matches(presented)) {
      if (state === 'check') await this.redis.decr(addressKey);
      return { ok: true };
    }
    await this.redis.multi().incr(guessKey).expire(guessKey, this.limits.windowSeconds, 'NX').exec();
    if (state === 'slowed-check')
      return {
        ok: false,
        status: 429,
        reason: 'too many wrong tokens from this address',
        retryAfterSeconds: Math.ceil(this.limits.slowedCheckEveryMs / 1000),
      };
    return { ok: false, status: 401, reason: 'wrong token' };
  }
}
