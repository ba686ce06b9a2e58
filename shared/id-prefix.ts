/** What an id or unique prefix of one names among `candidates`. */
export type PrefixMatch =
  | { ok: true; id: string }
  | { ok: false; reason: 'not_found' | 'ambiguous'; matches: string[] };

/** Shortest prefixes are shown, so humans type prefixes: an exact id wins, else the one id it begins. */
export function matchPrefix(prefix: string, candidates: readonly string[]): PrefixMatch {
  if (candidates.includes(prefix)) return { ok: true, id: prefix };
  const matches = candidates.filter((id) => id.startsWith(prefix));
  const [only] = matches;
  if (matches.length === 1 && only) return { ok: true, id: only };
  return {
    ok: false,
    reason: matches.length === 0 ? 'not_found' : 'ambiguous',
    matches: matches.slice(0, 5),
  };
}

/**
 * For each id, its shortest prefix of at least `min` characters that no other id in the list shares
 * (ids are time-sortable, so incidents of one batch may need their whole id).
 */
export function shortIds(ids: readonly string[], min = 10): Map<string, string> {
  const short = new Map<string, string>();
  for (const id of ids) {
    let length = Math.min(min, id.length);
    while (length < id.length && ids.some((other) => other !== id && other.startsWith(id.slice(0, length))))
      length++;
    short.set(id, id.slice(0, length));
  }
  return short;
}
