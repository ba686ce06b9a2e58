import type { Keyspace } from '../../shared/keys.js';
import type { RedisConnection } from '../../shared/redis.js';

/**
 * Checks every rolling window and, only when all have room, records the action in each — one
 * script, so concurrent executors can never overshoot a limit.
 * KEYS: one sorted set per window. ARGV: now ms, member, then (max, window ms) per key.
 * Returns {0, 0} when taken, or {index of the full window (1-based), its count}.
 */
const TAKE_LUA = `
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local max = tonumber(ARGV[1 + i * 2])
  local window = tonumber(ARGV[2 + i * 2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= max then return {i, count} end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 + i * 2]))
end
return {0, 0}
`;

export interface RollingLimit {
  /** Names the window; becomes part of the Redis key (callers pass validated names only). */
  name: string;
  max: number;
  windowMs: number;
}

export type TakeResult = { ok: true } | { ok: false; limit: RollingLimit; count: number };

export class RateLimiter {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
  ) {}

  async take(member: string, limits: readonly RollingLimit[], now = Date.now()): Promise<TakeResult> {
    if (limits.length === 0) return { ok: true };
    const args = limits.flatMap((limit) => [String(limit.max), String(limit.windowMs)]);
    const [index, count] = (await this.redis.eval(
      TAKE_LUA,
      limits.length,
      ...limits.map((limit) => this.keys.exec(`rl:${limit.name}`)),
      String(now),
      member,
      ...args,
    )) as [number, number];
    const limit = limits[index - 1];
    return limit ? { ok: false, limit, count } : { ok: true };
  }
}
