import type { Keyspace } from '../../shared/keys.js';
import { loadLua } from '../../shared/lua.js';
import type { RedisConnection } from '../../shared/redis.js';

const takeScript = loadLua(new URL('./lua/take-rate-limits.lua', import.meta.url));

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
    const [index, count] = (await takeScript.run(
      this.redis,
      limits.map((limit) => this.keys.exec(`rl:${limit.name}`)),
      [String(now), member, ...args],
    )) as [number, number];
    const limit = limits[index - 1];
    return limit ? { ok: false, limit, count } : { ok: true };
  }
}
