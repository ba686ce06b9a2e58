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

/** The incident gate, entered in the same script once the limits had room (see IncidentGate.entry). */
export interface GateEntry {
  keys: readonly [string, string, string];
  args: readonly [string, string, string];
}

/** `entered`: the gate's verdict, when one was entered. */
export type TakeResult = { ok: true; entered: string[] } | { ok: false; limit: RollingLimit; count: number };

export class RateLimiter {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
  ) {}

  async take(
    member: string,
    limits: readonly RollingLimit[],
    now = Date.now(),
    gate?: GateEntry,
  ): Promise<TakeResult> {
    if (limits.length === 0 && !gate) return { ok: true, entered: [] };
    const args = limits.flatMap((limit) => [String(limit.max), String(limit.windowMs)]);
    const [index, count, ...entered] = (await takeScript.run(
      this.redis,
      [...limits.map((limit) => this.keys.exec(`rl:${limit.name}`)), ...(gate?.keys ?? [])],
      [String(now), member, String(limits.length), ...args, ...(gate?.args ?? [])],
    )) as [number, number, ...string[]];
    const limit = limits[index - 1];
    return limit ? { ok: false, limit, count } : { ok: true, entered };
  }
}
