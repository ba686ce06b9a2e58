import { chainHash, DEFAULT_AUDIT_MAX_ENTRIES, GENESIS_HASH } from '../../shared/audit-chain.js';
import { canonicalJson } from '../../shared/canonical.js';
import type { Keyspace } from '../../shared/keys.js';
import type { RedisConnection } from '../../shared/redis.js';

/**
 * Appends only if the chain head and counter are still the ones the entry was computed from
 * (compare-and-set), so concurrent executors never fork the chain. Past `max` entries (plus 1 %
 * slack, so trimming is occasional) the oldest are dropped down to `max`, and `seq:hash` of the last
 * one dropped becomes the anchor the retained chain is verified from.
 * KEYS: stream, head, anchor, counter. ARGV: prev, data, hash, max entries, seq.
 */
const APPEND_LUA = `
local head = redis.call('GET', KEYS[2]) or '${GENESIS_HASH}'
local count = tonumber(redis.call('GET', KEYS[4]) or '0')
if head ~= ARGV[1] or count + 1 ~= tonumber(ARGV[5]) then return false end
local id = redis.call('XADD', KEYS[1], '*', 'prev', ARGV[1], 'data', ARGV[2], 'hash', ARGV[3])
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SET', KEYS[4], ARGV[5])
local max = tonumber(ARGV[4])
local excess = redis.call('XLEN', KEYS[1]) - max
if excess > math.floor(max / 100) then
  local dropped = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
  local fields = dropped[#dropped][2]
  local dropped_seq = tonumber(ARGV[5]) - redis.call('XLEN', KEYS[1]) + excess
  for i = 1, #fields, 2 do
    if fields[i] == 'hash' then redis.call('SET', KEYS[3], dropped_seq .. ':' .. fields[i + 1]) end
  end
  redis.call('XTRIM', KEYS[1], 'MAXLEN', max)
end
return id
`;

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

  /** Appends an entry; returns its stream id and its position in the chain (log it: a witness). */
  async append(entry: Record<string, unknown>): Promise<{ id: string; seq: number; hash: string }> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const [head, count] = await this.redis.mget(this.keys.auditHead, this.keys.auditSeq);
      const prev = head ?? GENESIS_HASH;
      const seq = Number(count ?? 0) + 1;
      const data = canonicalJson({ ...entry, seq });
      const hash = chainHash(prev, data);
      const id = (await this.redis.eval(
        APPEND_LUA,
        4,
        this.keys.audit,
        this.keys.auditHead,
        this.keys.auditAnchor,
        this.keys.auditSeq,
        prev,
        data,
        hash,
        String(this.maxEntries),
        String(seq),
      )) as string | null;
      if (id) return { id, seq, hash };
    }
    throw new Error('audit append kept losing the race for the chain head');
  }
}
