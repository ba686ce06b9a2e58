import { z } from 'zod';
import { type AuditVerification, type AuditWitness, verifyAuditChain } from '../../../shared/audit-chain.js';
import {
  type ConfigService,
  type PublishedConfig,
  readConfigVersions,
} from '../../../shared/config-versions.js';
import type { AutomationControl } from '../../../shared/control.js';
import { dryRunKeys, type Keyspace } from '../../../shared/keys.js';
import type { RedisConnection } from '../../../shared/redis.js';
import { type ExecutionMode, executionModeSchema } from '../../../shared/schemas/jobs.js';

export interface BreakerView {
  /** `unknown`: the breaker hash holds something this console cannot read. */
  state: 'closed' | 'open' | 'half_open' | 'unknown';
  openedAt?: string;
  reopenAt?: string;
}

export interface AutomationStatus {
  paused: { paused: boolean; by?: string; at?: string };
  /** As the executor published it at start-up (`exec:mode`); null before any executor has started. */
  mode: { mode: ExecutionMode; at: string } | null;
  breaker: BreakerView;
  /** Which version of each config file each service runs, as each published it. */
  config: Record<ConfigService, PublishedConfig | null>;
}

const breakerHashSchema = z.object({
  state: z.enum(['closed', 'open', 'half_open']).default('closed'),
  openedAt: z.coerce.number().optional(),
  reopenAt: z.coerce.number().optional(),
});

const publishedModeSchema = z.object({ mode: executionModeSchema, at: z.string() });

/** Read-only view of executor state for the console; nothing here writes. */
export class AutomationStatusReader {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
    private readonly control: AutomationControl,
    /** The retention this verifier holds a trimmed chain to: its own AUDIT_MAX_ENTRIES, never Redis'. */
    private readonly auditMaxEntries: number,
  ) {}

  async read(): Promise<AutomationStatus> {
    const [paused, mode, config] = await Promise.all([
      this.control.isPaused(),
      this.mode(),
      readConfigVersions(this.redis, this.keys),
    ]);
    return { paused, mode, breaker: await this.breaker(mode?.mode ?? 'live'), config };
  }

  /** Verifies the chain (with `maxEntries`, the caller's retention, if given), and a witness if one is given. */
  async verifyAudit(
    options: { witness?: AuditWitness | undefined; maxEntries?: number | undefined } = {},
  ): Promise<AuditVerification> {
    return verifyAuditChain(this.redis, this.keys, {
      maxEntries: options.maxEntries ?? this.auditMaxEntries,
      ...(options.witness ? { witness: options.witness } : {}),
    });
  }

  private async mode(): Promise<AutomationStatus['mode']> {
    const parsed = publishedModeSchema.safeParse(safeJson(await this.redis.get(this.keys.exec('mode'))));
    return parsed.success ? parsed.data : null;
  }

  // The hash CircuitBreaker (services/executor/breaker.ts) keeps, in the running mode's own
  // accounting; an open breaker past reopenAt lets the next action through as a half-open probe.
  private async breaker(mode: ExecutionMode): Promise<BreakerView> {
    const keys = mode === 'dry-run' ? dryRunKeys(this.keys) : this.keys;
    const parsed = breakerHashSchema.safeParse(await this.redis.hgetall(keys.exec('breaker')));
    if (!parsed.success) return { state: 'unknown' };
    const { state, openedAt, reopenAt } = parsed.data;
    return {
      state,
      ...(openedAt ? { openedAt: new Date(openedAt).toISOString() } : {}),
      ...(reopenAt ? { reopenAt: new Date(reopenAt).toISOString() } : {}),
    };
  }
}

function safeJson(raw: string | null): unknown {
  try {
    return raw === null ? undefined : JSON.parse(raw);
  } catch {
    return undefined;
  }
}
