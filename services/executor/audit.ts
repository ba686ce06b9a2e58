import { chainHash, DEFAULT_AUDIT_MAX_ENTRIES, GENESIS_HASH } from '../../shared/audit-chain.js';
import { canonicalJson } from '../../shared/canonical.js';
import type { Keyspace } from '../../shared/keys.js';
import { loadLua } from '../../shared/lua.js';
import type { RedisConnection } from '../../shared/redis.js';
import type { AuditWitnessLog } from './audit-witness.js';

const appendScript = loadLua(new URL('./lua/append-audit-5.lua', import.meta.url));

/** How long an entry appended once (`once`) is remembered: longer than any retry of what appends it. */
const ONCE_TTL_SECONDS = 7 * 24 * 3600;

/**
 * The executor's tamper-evident audit trail: each entry carries the hash of the previous one. Redis
 * keeps the newest `maxEntries` (AUDIT_MAX_ENTRIES); ship it elsewhere to keep more. Every entry's
 * position is handed to `witnesses` once appended, to be seen outside Redis.
 */
export class AuditLog {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
    private readonly maxEntries = DEFAULT_AUDIT_MAX_ENTRIES,
    private readonly witnesses?: AuditWitnessLog,
  ) {}

  /** The chain head and counter as this log's last append left them: most likely still the head. */
  private last: { head: string | null; count: string | null } | null = null;

  /**
   * Appends an entry (and witnesses it); returns its stream id and its position in the chain. The
   * first attempt builds on the head this log last wrote, without reading it first (one round trip);
   * when another writer moved it, the script refuses and the head is read. With `once` (a name for the
   * entry, e.g. the job's id), an entry appended under that name already is not appended again (in
   * the same script): its place is returned.
   */
  async append(
    entry: Record<string, unknown>,
    once?: string,
  ): Promise<{ id: string; seq: number; hash: string }> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const guess = attempt === 0 ? this.last : null;
      const { head, count } = guess ?? (await this.readHead());
      const prev = head ?? GENESIS_HASH;
      const seq = Number(count ?? 0) + 1;
      const data = canonicalJson({ ...entry, seq });
      const hash = chainHash(prev, data);
      const reply = (await appendScript.run(
        this.redis,
        [
          this.keys.audit,
          this.keys.auditHead,
          this.keys.auditAnchor,
          this.keys.auditSeq,
          this.keys.auditOnce(once ?? ''),
        ],
        [
          prev,
          data,
          hash,
          String(this.maxEntries),
          String(seq),
          GENESIS_HASH,
          once === undefined ? '' : String(ONCE_TTL_SECONDS),
        ],
      )) as string | ['again', string] | null;
      if (Array.isArray(reply)) {
        const [id = '', earlierSeq, earlierHash = ''] = reply[1].split(' ');
        return { id, seq: Number(earlierSeq), hash: earlierHash };
      }
      if (reply) {
        this.last = { head: hash, count: String(seq) };
        await this.witnesses?.witness({ seq, hash, event: String(entry.event ?? 'unknown') });
        return { id: reply, seq, hash };
      }
    }
    throw new Error('audit append kept losing the race for the chain head');
  }

  private async readHead(): Promise<{ head: string | null; count: string | null }> {
    const [head, count] = await this.redis.mget(this.keys.auditHead, this.keys.auditSeq);
    return { head: head ?? null, count: count ?? null };
  }
}
