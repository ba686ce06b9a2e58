import type { TestRedis } from './redis.js';

/** The audit chain's entries (each one's `data`), oldest first; with `event`, only that event's. */
export async function audited(t: TestRedis, event?: string): Promise<Record<string, unknown>[]> {
  const entries = (await t.redis.xrange(t.keys.audit, '-', '+')) as [string, string[]][];
  const data = entries.map(
    ([, fields]) => JSON.parse(fields[fields.indexOf('data') + 1] ?? '{}') as Record<string, unknown>,
  );
  return event ? data.filter((entry) => entry.event === event) : data;
}
