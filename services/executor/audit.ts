import { canonicalJson, sha256 } from '../../shared/canonical.js';
import type { Keyspace } from '../../shared/keys.js';
import type { RedisConnection } from '../../shared/redis.js';

export const GENESIS_HASH = '0'.repeat(64);
export const DEFAULT_AUDIT_MAX_ENTRIES = 100_000;

/**
 * Appends only if the chain head is still the one the hash was computed from (compare-and-set),
 * so concurrent executors never fork the chain. Past `max` entries (plus 1 % slack, so trimming is
 * occasional) the oldest are dropped down to `max`, and the hash of the last one dropped becomes the
 * anchor the retained chain is verified from.
 * KEYS: stream, head, anchor. ARGV: prev, data, hash, max entries.
 */
const APPEND_LUA = `
local head = redis.call('GET', KEYS[2]) or '${GENESIS_HASH}'
if head ~= ARGV[1] then return false end
local id = redis.call('XADD', KEYS[1], '*', 'prev', ARGV[1], 'data', ARGV[2], 'hash', ARGV[3])
redis.call('SET', KEYS[2], ARGV[3])
local max = tonumber(ARGV[4])
local excess = redis.call('XLEN', KEYS[1]) - max
if excess > math.floor(max / 100) then
  local dropped = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
  local fields = dropped[#dropped][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'hash' then redis.call('SET', KEYS[3], fields[i + 1]) end
  end
  redis.call('XTRIM', KEYS[1], 'MAXLEN', max)
end
return id
`;

export function chainHash(prev: string, data: string): string {
  return sha256(`${prev}\n${data}`);
}

/**
 * The executor's tamper-evident audit trail: each entry carries the hash of the previous one. Redis
 * keeps the newest `maxEntries` (AUDIT_MAX_ENTRIES); ship it elsewhere to keep more.
 */
export class AuditLog {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
    private readonly maxEntries = DEFAULT_AUDIT_MAX_ENTRIES,
  ) {}

  async append(entry: Record<string, unknown>): Promise<{ id: string; hash: string }> {
    const data = canonicalJson(entry);
    for (let attempt = 0; attempt < 100; attempt++) {
      const prev = (await this.redis.get(this.keys.auditHead)) ?? GENESIS_HASH;
      const hash = chainHash(prev, data);
      const id = (await this.redis.eval(
        APPEND_LUA,
        3,
        this.keys.audit,
        this.keys.auditHead,
        this.keys.auditAnchor,
        prev,
        data,
        hash,
        String(this.maxEntries),
      )) as string | null;
      if (id) return { id, hash };
    }
    throw new Error('audit append kept losing the race for the chain head');
  }
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** Whether older entries were dropped (the chain is verified from the last dropped one's hash). */
  trimmed: boolean;
  /** Stream id of the first entry that does not verify, or `head` when the head does not match the last entry. */
  brokenAt?: string;
}

/** Re-computes the retained chain; any edited, inserted, reordered or removed entry breaks it. */
export async function verifyAuditChain(redis: RedisConnection, keys: Keyspace): Promise<AuditVerification> {
  const anchor = await redis.get(keys.auditAnchor);
  const trimmed = anchor !== null;
  let expectedPrev = anchor ?? GENESIS_HASH;
  let entries = 0;
  let start = '-';
  for (;;) {
    const page = (await redis.xrange(keys.audit, start, '+', 'COUNT', 500)) as [string, string[]][];
    for (const [id, fields] of page) {
      const record = toRecord(fields);
      if (
        record.prev !== expectedPrev ||
        record.data === undefined ||
        record.hash !== chainHash(expectedPrev, record.data)
      )
        return { ok: false, entries, trimmed, brokenAt: id };
      expectedPrev = record.hash;
      entries++;
    }
    const last = page.at(-1);
    if (!last || page.length < 500) break;
    start = `(${last[0]}`;
  }
  const head = (await redis.get(keys.auditHead)) ?? GENESIS_HASH;
  return head === expectedPrev
    ? { ok: true, entries, trimmed }
    : { ok: false, entries, trimmed, brokenAt: 'head' };
}

function toRecord(fields: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i] as string] = fields[i + 1] as string;
  return record;
}
