import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RedisConnection } from './redis.js';

export type LuaArg = string | number;

export interface LuaScript {
  readonly name: string;
  /** From the file name (`<name>-<keys>.lua`); undefined for a script that takes any number. */
  readonly numberOfKeys: number | undefined;
  readonly lua: string;
  run(redis: RedisConnection, keys: readonly string[], args: readonly LuaArg[]): Promise<unknown>;
}

const SHARED_INCLUDES = fileURLToPath(new URL('./lua/includes/', import.meta.url));
const INCLUDE_LINE = /^--- @include "([a-z0-9-]+)"$/gm;

/**
 * `source` with each `--- @include "<helper>"` line replaced by the helper, looked up in `folders`
 * in order. Helpers may include others; each is included once (where first named).
 */
function withIncludes(source: string, folders: readonly string[], included: Set<string>): string {
  return source.replace(new RegExp(INCLUDE_LINE), (_, helper: string) => {
    if (included.has(helper)) return '';
    included.add(helper);
    const path = folders.map((folder) => join(folder, `${helper}.lua`)).find((file) => existsSync(file));
    if (!path) throw new Error(`Lua include ${helper} is in none of ${folders.join(', ')}`);
    return withIncludes(readFileSync(path, 'utf8'), folders, included);
  });
}

/**
 * A script from a `.lua` file, as BullMQ keeps its commands: `<name>-<number of keys>.lua` (or
 * `<name>.lua` when it takes any number), a header naming its KEYS, ARGV and reply, and
 * `--- @include "<helper>"` lines replaced by `includes/<helper>.lua` next to the script, or else
 * `shared/lua/includes/<helper>.lua`. Run by EVALSHA:
 * the body crosses the wire only after NOSCRIPT (first use, Redis restarted or failed over). All
 * keys must share one hash tag on a cluster.
 */
export function loadLua(url: URL): LuaScript {
  const path = fileURLToPath(url);
  const match = /^([a-z0-9-]+?)(?:-(\d+))?\.lua$/.exec(basename(path));
  if (!match) throw new Error(`${path}: Lua scripts are named <name>-<keys>.lua`);
  const [, name = '', count] = match;
  const folders = [join(dirname(path), 'includes'), SHARED_INCLUDES];
  const lua = withIncludes(readFileSync(path, 'utf8'), folders, new Set());
  const numberOfKeys = count === undefined ? undefined : Number(count);
  const sha = createHash('sha1').update(lua).digest('hex');
  return {
    name,
    numberOfKeys,
    lua,
    async run(redis, keys, args) {
      if (numberOfKeys !== undefined && keys.length !== numberOfKeys)
        throw new Error(`Lua script ${name} takes ${numberOfKeys} keys, not ${keys.length}`);
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error as Error).message.startsWith('NOSCRIPT')) throw error;
        return redis.eval(lua, keys.length, ...keys, ...args);
      }
    },
  };
}
