import { createHash } from 'node:crypto';
import type { RedisConnection } from './redis.js';

export type LuaArg = string | number;

/**
 * A Lua script run by EVALSHA (the body crosses the wire only the first time, or after a Redis
 * restart/failover answers NOSCRIPT). All keys must share one hash tag on a cluster.
 */
export function luaScript(lua: string) {
  const sha = createHash('sha1').update(lua).digest('hex');
  return async (redis: RedisConnection, keys: string[], args: LuaArg[]): Promise<unknown> => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error as Error).message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(lua, keys.length, ...keys, ...args);
    }
  };
}
