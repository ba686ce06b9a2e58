import { z } from 'zod';

/** Shown ids are at least this long: `inc_`/`apr_` and the top of their timestamp. */
export const SHORT_ID_MIN = 10;

/** What a human may give where an id is expected: a whole id or a prefix of one. */
export const idOrPrefixSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,200}$/, 'an id or a prefix of one is 1-200 characters of [A-Za-z0-9_-]');

/** What an id or prefix names among the ids ever issued. */
export type PrefixMatch =
  | { ok: true; id: string }
  | { ok: false; reason: 'not_found' | 'ambiguous'; matches: string[] };

/**
 * The shortest prefix of `id` (at least `min` characters) that neither of its neighbours in the
 * sorted list of issued ids begins with; then no issued id but `id` does. An id that begins another
 * (`inc_…-1` and `inc_…-10`) is shown whole: a whole id always names itself.
 */
export function shortestUniquePrefix(
  id: string,
  neighbours: readonly (string | undefined)[],
  min = SHORT_ID_MIN,
): string {
  let length = Math.min(min, id.length);
  for (const other of neighbours) {
    if (other === undefined || other === id) continue;
    let common = 0;
    while (common < id.length && common < other.length && id[common] === other[common]) common++;
    length = Math.max(length, Math.min(common + 1, id.length));
  }
  return id.slice(0, length);
}
