import { createHash } from 'node:crypto';
import type { Keyspace } from '../../shared/keys.js';
import type { RedisConnection } from '../../shared/redis.js';

export interface GuessLimits {
  /** Wrong tokens from one address within the window before its wrong tokens are answered 429. */
  perAddress: number;
  /** Times one wrong token may be tried (from anywhere) within the window before it is answered 429. */
  perGuess: number;
  windowSeconds: number;
  /** A wrong token past a limit is answered this late, so a guesser waits for each answer… */
  slowReplyMs: number;
  /** …but at most this many answers wait at once per process (each holds a connection). */
  maxSlowReplies: number;
}

const DEFAULT_GUESS_LIMITS: GuessLimits = {
  perAddress: 10,
  perGuess: 5,
  windowSeconds: 300,
  slowReplyMs: 1_000,
  maxSlowReplies: 100,
};

export type WrongTokenVerdict =
  | { status: 401; reason: string }
  | { status: 429; reason: string; retryAfterSeconds: number };

/**
 * Counts wrong tokens (console sign-in, API bearer, Bull Board basic) per address and per guessed
 * value, in Redis so across ingest replicas. Only wrong tokens get here: a right one is recognised
 * before (services/ingest/credentials.ts) and never waits behind them, so a stranger sharing the
 * admin's address cannot lock the admin out.
 */
export class TokenGuessLimiter {
  private slowReplies = 0;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
    private readonly limits: GuessLimits = DEFAULT_GUESS_LIMITS,
  ) {}

  async wrongToken(address: string, presented: string): Promise<WrongTokenVerdict> {
    const verdict = await this.count(address, presented);
    if (verdict.status === 429 && this.slowReplies < this.limits.maxSlowReplies) {
      this.slowReplies++;
      await new Promise((resolve) => setTimeout(resolve, this.limits.slowReplyMs));
      this.slowReplies--;
    }
    return verdict;
  }

  private async count(address: string, presented: string): Promise<WrongTokenVerdict> {
    const guess = createHash('sha256').update(presented).digest('hex').slice(0, 32);
    const addressKey = this.keys.guesses(`address:${address}`);
    const guessKey = this.keys.guesses(`token:${guess}`);
    const window = this.limits.windowSeconds;
    const replies = await this.redis
      .multi()
      .incr(addressKey)
      .expire(addressKey, window, 'NX')
      .incr(guessKey)
      .expire(guessKey, window, 'NX')
      .pttl(addressKey)
      .pttl(guessKey)
      .exec();
    const [fromAddress, , ofGuess, , addressTtl, guessTtl] = (replies ?? []).map(([, value]) =>
      Number(value),
    );
    const retryAfter = (ms = window * 1000) => Math.max(1, Math.ceil(ms / 1000));
    if ((ofGuess ?? 0) > this.limits.perGuess)
      return {
        status: 429,
        reason: 'this token was refused too often; wait',
        retryAfterSeconds: retryAfter(guessTtl),
      };
    if ((fromAddress ?? 0) > this.limits.perAddress)
      return {
        status: 429,
        reason: 'too many wrong tokens from this address',
        retryAfterSeconds: retryAfter(addressTtl),
      };
    return { status: 401, reason: 'wrong token' };
  }
}
