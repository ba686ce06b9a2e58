import { canonicalJson, sha256 } from '../../shared/canonical.js';
import type { Keyspace } from '../../shared/keys.js';
import type { RedisConnection } from '../../shared/redis.js';

export const GENESIS_HASH = '0'.repeat(64);

/**
 * Appends only if the chain head is still the one the hash was computed from (compare-and-set),
 * so concurrent executors never fork the chain. KEYS: stream, head. ARGV: prev, data, hash.
 */
const APPEND_LUA = `
local head = redis.call('GET', KEYS[2]) or '${GENESIS_HASH}'
if head ~= ARGV[1] then return false end
local id = redis.call('XADD', KEYS[1], '*', 'prev', ARGV[1], 'data', ARGV[2], 'hash', ARGV[3])
redis.call('SET', KEYS[2], ARGV[3])
return id
`;

export function chainHash(prev: string, data: string): string {
  return sha256(`${prev}\n${data}`);
}

/** The executor's tamper-evident audit trail: each entry carries the hash of the previous one. */
export class AuditLog {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
  ) {}

  async append(entry: Record<string, unknown>): Promise<{ id: string; hash: string }> {
    const data = canonicalJson(entry);
    for (let attempt = 0; attempt < 100; attempt++) {
      const prev = (await this.redis.get(this.keys.auditHead)) ?? GENESIS_HASH;
      const hash = chainHash(prev, data);
      const id = (await this.redis.eval(
        APPEND_LUA,
        2,
        this.keys.audit,
        this.keys.auditHead,
        prev,
        data,
        hash,
      )) as string | null;
      if (id) return { id, hash };
    }
    throw new Error('audit append kept losing the race for the chain head');
  }
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** Stream id of the first entry that does not verify, or `head` when the head does not match the last entry. */
  brokenAt?: string;
}

/** Re-computes the whole chain; any edited, inserted, reordered or removed entry breaks it. */
export async function verifyAuditChain(redis: RedisConnection, keys: Keyspace): Promise<AuditVerification> {
  let expectedPrev = GENESIS_HASH;
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
        return { ok: false, entries, brokenAt: id };
      expectedPrev = record.hash;
      entries++;
    }
    const last = page.at(-1);
    if (!last || page.length < 500) break;
    start = `(${last[0]}`;
  }
  const head = (await redis.get(keys.auditHead)) ?? GENESIS_HASH;
  return head === expectedPrev ? { ok: true, entries } : { ok: false, entries, brokenAt: 'head' };
}

function toRecord(fields: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i] as string] = fields[i + 1] as string;
  return record;
}
