import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLua } from '../../shared/lua.js';
import { openTestRedis, type TestRedis } from '../support/redis.js';

const SCRIPT_DIRS = ['shared/lua', 'services/ingest/lua', 'services/executor/lua'];
const scripts = SCRIPT_DIRS.flatMap((dir) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.lua'))
    .map((name) => join(dir, name)),
);

let t: TestRedis;
beforeAll(async () => {
  t = await openTestRedis();
});
afterAll(() => t.close());

describe('Lua scripts', () => {
  it('are all in .lua files: no TypeScript sends a script body of its own', () => {
    const sources = ['shared', 'services']
      .flatMap((dir) =>
        readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((name) => join(dir, name)),
      )
      .filter((path) => /\.tsx?$/.test(path) && !path.endsWith('shared/lua.ts') && !path.includes('/test/'));
    const embedding = sources.filter((path) => /redis\.call\(|\.eval\(/.test(readFileSync(path, 'utf8')));
    expect(embedding).toEqual([]);
  });

  it.each(scripts)(
    '%s: named by its key count, header complete, includes resolved, compiles in Redis',
    async (path) => {
      const script = loadLua(pathToFileURL(join(process.cwd(), path)));
      const text = readFileSync(path, 'utf8');
      const declared = new Set(text.match(/^ {2}KEYS\[(\d+)\]/gm) ?? []).size;
      if (script.numberOfKeys !== undefined) expect(declared).toBe(script.numberOfKeys);
      expect(text).toMatch(/^--\[\[\n/);
      expect(text).toMatch(/\n {2}Returns /);
      expect(script.lua).not.toContain('--- @include');
      // SCRIPT LOAD compiles without running: a syntax error (or a broken include) fails here.
      expect(await t.redis.script('LOAD', script.lua)).toMatch(/^[0-9a-f]{40}$/);
    },
  );

  it('runs by EVALSHA, sending the body again only after Redis forgot it (NOSCRIPT)', async () => {
    const script = loadLua(pathToFileURL(join(process.cwd(), 'shared/lua/consume-approval-1.lua')));
    const sent: string[] = [];
    const watched = new Proxy(t.redis, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          sent.push(String(prop));
          return value.apply(target, args);
        };
      },
    });
    const key = t.keys.approval('apr_lua');
    await t.redis.script('FLUSH');
    expect(await script.run(watched, [key], ['tool', 'hash', '0'])).toBe('not_found');
    expect(await script.run(watched, [key], ['tool', 'hash', '0'])).toBe('not_found');
    expect(sent).toEqual(['evalsha', 'eval', 'evalsha']);
    await expect(script.run(watched, [key, key], [])).rejects.toThrow('takes 1 keys, not 2');
  });
});
