import { idOrPrefixSchema, type PrefixMatch, shortestUniquePrefix } from './id-prefix.js';
import type { RedisConnection } from './redis.js';

/** How many candidates an ambiguous prefix names. */
const CANDIDATES_SHOWN = 5;
/** Sorts after every character an id holds: `(<prefix>\x7f` closes the range of ids with that prefix. */
const AFTER_ID_CHARACTERS = '\x7f';

/**
 * Every id of one kind ever issued, in a sorted set whose members all score 0 (so it is sorted by
 * id, and ids of one prefix are one lexical range). A prefix is resolved among all of them, open or
 * closed: one a human copied can become ambiguous, never name another id.
 */
export class IssuedIds {
  constructor(
    private readonly redis: RedisConnection,
    private readonly key: string,
    /** Whether a record has this id: a whole id names itself, even one issued before the index. */
    private readonly exists: (id: string) => Promise<boolean>,
  ) {}

  /** The id `idOrPrefix` is, or the only issued one it begins. */
  async resolve(idOrPrefix: string): Promise<PrefixMatch> {
    if (!idOrPrefixSchema.safeParse(idOrPrefix).success)
      return { ok: false, reason: 'not_found', matches: [] };
    if (await this.exists(idOrPrefix)) return { ok: true, id: idOrPrefix };
    const matches = await this.redis.zrangebylex(
      this.key,
      `[${idOrPrefix}`,
      `(${idOrPrefix}${AFTER_ID_CHARACTERS}`,
      'LIMIT',
      0,
      CANDIDATES_SHOWN,
    );
    const [only] = matches;
    if (matches.length === 1 && only) return { ok: true, id: only };
    return { ok: false, reason: matches.length === 0 ? 'not_found' : 'ambiguous', matches };
  }

  /** Records ids as issued (ids issued before the index existed). */
  async include(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.redis.zadd(this.key, ...ids.flatMap((id) => [0, id]));
  }

  /** For each id, its shortest prefix (at least SHORT_ID_MIN characters) no other issued id begins with. */
  async shortIds(ids: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    const pipeline = this.redis.pipeline();
    for (const id of unique) {
      pipeline.zrevrangebylex(this.key, `(${id}`, '-', 'LIMIT', 0, 1);
      pipeline.zrangebylex(this.key, `(${id}`, '+', 'LIMIT', 0, 1);
    }
    const replies = (await pipeline.exec()) ?? [];
    const neighbour = (at: number) => {
      const [error, value] = replies[at] ?? [null, []];
      if (error) throw error;
      return (value as string[])[0];
    };
    return new Map(
      unique.map((id, i) => [id, shortestUniquePrefix(id, [neighbour(2 * i), neighbour(2 * i + 1)])]),
    );
  }
}
