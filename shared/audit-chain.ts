import { sha256 } from './canonical.js';
import type { Keyspace } from './keys.js';
import type { RedisConnection } from './redis.js';

export const GENESIS_HASH = '0'.repeat(64);
export const DEFAULT_AUDIT_MAX_ENTRIES = 100_000;

export function chainHash(prev: string, data: string): string {
  return sha256(`${prev}\n${data}`);
}

/** A position of the chain seen outside Redis: the executor logs (and files) one for every entry. */
export interface AuditWitness {
  seq: number;
  hash: string;
}

/** Entries per page of `auditPositions`. */
export const AUDIT_POSITIONS_PAGE = 5_000;

export interface AuditVerification {
  ok: boolean;
  /** Entries retained in Redis and verified. */
  entries: number;
  /** Whether older entries were dropped (the chain is verified from the last dropped one's position). */
  trimmed: boolean;
  /** Sequence number of the newest entry (entries ever appended). */
  lastSeq?: number;
  /** Stream id of the first entry that does not verify, `head`, `seq` or `witness`. */
  brokenAt?: string;
  /** Why it does not verify, in words. */
  problem?: string;
}

/** The anchor is `seq:hash` of the newest entry trimmed away. */
function parseAnchor(raw: string | null): { seq: number; hash: string } | null {
  if (raw === null) return null;
  const at = raw.indexOf(':');
  const seq = Number(raw.slice(0, at));
  return at > 0 && Number.isInteger(seq) ? { seq, hash: raw.slice(at + 1) } : { seq: Number.NaN, hash: raw };
}

/**
 * Re-computes the retained chain. Detected: an edited, inserted, reordered or removed entry (hash
 * chain and consecutive sequence numbers); removal at the oldest end beyond retention (a trimmed
 * chain keeps at least `maxEntries`); and, against a `witness` seen outside Redis (the executor's
 * log, a notification), removal or rewriting at the newest end, head and counter included.
 */
export async function verifyAuditChain(
  redis: RedisConnection,
  keys: Keyspace,
  options: { maxEntries?: number; witness?: AuditWitness } = {},
): Promise<AuditVerification> {
  const anchor = parseAnchor(await redis.get(keys.auditAnchor));
  const trimmed = anchor !== null;
  if (anchor && !Number.isInteger(anchor.seq))
    return {
      ok: false,
      entries: 0,
      trimmed,
      brokenAt: 'anchor',
      problem: 'the retention anchor is unreadable',
    };
  let expectedPrev = anchor?.hash ?? GENESIS_HASH;
  let expectedSeq = (anchor?.seq ?? 0) + 1;
  let entries = 0;
  let start = '-';
  let witnessed = false;
  const broken = (brokenAt: string, problem: string): AuditVerification => ({
    ok: false,
    entries,
    trimmed,
    lastSeq: expectedSeq - 1,
    brokenAt,
    problem,
  });
  for (;;) {
    const page = (await redis.xrange(keys.audit, start, '+', 'COUNT', 500)) as [string, string[]][];
    for (const [id, fields] of page) {
      const record = toRecord(fields);
      if (
        record.prev !== expectedPrev ||
        record.data === undefined ||
        record.hash !== chainHash(expectedPrev, record.data)
      )
        return broken(
          id,
          `entry ${id} does not follow the one before it (edited, inserted, reordered or removed)`,
        );
      if (seqOf(record.data) !== expectedSeq)
        return broken(id, `entry ${id} should be number ${expectedSeq} of the chain`);
      if (options.witness?.seq === expectedSeq) {
        if (options.witness.hash !== record.hash)
          return broken(id, `entry ${expectedSeq} differs from the witnessed one: the chain was rewritten`);
        witnessed = true;
      }
      expectedPrev = record.hash;
      expectedSeq++;
      entries++;
    }
    const last = page.at(-1);
    if (!last || page.length < 500) break;
    start = `(${last[0]}`;
  }
  const lastSeq = expectedSeq - 1;
  const [head, counter] = await Promise.all([redis.get(keys.auditHead), redis.get(keys.auditSeq)]);
  if ((head ?? GENESIS_HASH) !== expectedPrev)
    return broken('head', 'the chain head is not the newest entry: entries were removed at the newest end');
  if (Number(counter ?? 0) !== lastSeq)
    return broken('seq', `the entry counter says ${counter ?? 0}, the chain ends at ${lastSeq}`);
  if (trimmed && options.maxEntries !== undefined && entries < options.maxEntries)
    return broken(
      'anchor',
      `only ${entries} entries are kept although older ones were trimmed (AUDIT_MAX_ENTRIES is ${options.maxEntries}): entries were removed at the oldest end`,
    );
  if (options.witness && !witnessed) {
    if (options.witness.seq > lastSeq)
      return broken(
        'witness',
        `entry ${options.witness.seq} was witnessed but the chain ends at ${lastSeq}: entries were removed at the newest end`,
      );
    if (options.witness.seq >= expectedSeq - entries)
      return broken('witness', `entry ${options.witness.seq} is missing`);
  }
  return { ok: true, entries, trimmed, lastSeq };
}

/**
 * The kept chain's positions (number and hash of each entry, oldest first), a page at a time after
 * stream id `after`: what a verifier compares its witnesses with. An entry without a number is left
 * out (the chain check names it).
 */
export async function auditPositions(
  redis: RedisConnection,
  keys: Keyspace,
  after?: string,
): Promise<{ positions: [seq: number, hash: string][]; next: string | null }> {
  const page = (await redis.xrange(
    keys.audit,
    after ? `(${after}` : '-',
    '+',
    'COUNT',
    AUDIT_POSITIONS_PAGE,
  )) as [string, string[]][];
  const positions: [number, string][] = [];
  for (const [, fields] of page) {
    const record = toRecord(fields);
    const seq = record.data === undefined ? undefined : seqOf(record.data);
    if (seq !== undefined && record.hash !== undefined) positions.push([seq, record.hash]);
  }
  const last = page.at(-1);
  return { positions, next: last && page.length === AUDIT_POSITIONS_PAGE ? last[0] : null };
}

function seqOf(data: string): number | undefined {
  try {
    const seq = (JSON.parse(data) as { seq?: unknown }).seq;
    return typeof seq === 'number' ? seq : undefined;
  } catch {
    return undefined;
  }
}

function toRecord(fields: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i] as string] = fields[i + 1] as string;
  return record;
}
