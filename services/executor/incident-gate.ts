import type { Keyspace } from '../../shared/keys.js';
import { agentStopReason } from '../../shared/notices.js';
import type { RedisConnection } from '../../shared/redis.js';
import { incidentStatusSchema } from '../../shared/schemas/incident.js';
import type { ActionJob } from '../../shared/schemas/jobs.js';
import type { GateEntry } from './rate-limit.js';

const ROUND_TTL_SECONDS = 30 * 24 * 3600;

/** An approved change, as its round remembers it: what it is, and the words for it. */
export interface RoundChange {
  /** Tool and what it acts on: the same change asked for twice has the same key. */
  key: string;
  /** "rollback_deployment of api". */
  words: string;
}

/**
 * A human's word stops the agent. The agent may change nothing on an incident that is resolved,
 * failed, or owned by a human; nobody may on a resolved or failed one; and an approved change runs
 * at most once per round of the incident (a re-run starts a new round).
 */
export class IncidentGate {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
    /** Where the round's claims live: dry-run keeps its own, like its limits. */
    private readonly accounting: Keyspace,
  ) {}

  /** Why this job may not go on (read now, early in the decision), or null. */
  async check(job: ActionJob): Promise<string | null> {
    const [status, acknowledgedBy, acknowledgedAt] = await this.redis.hmget(
      this.keys.incidentState(job.incidentId),
      'status',
      'acknowledgedBy',
      'acknowledgedAt',
    );
    const parsed = incidentStatusSchema.safeParse(status);
    if (!parsed.success) return null;
    if (job.requestedBy === 'agent')
      return agentStopReason({
        status: parsed.data,
        acknowledgedBy: acknowledgedBy ?? undefined,
        acknowledgedAt: acknowledgedAt ?? undefined,
      });
    return parsed.data === 'resolved' || parsed.data === 'failed'
      ? agentStopReason({ status: parsed.data })
      : null;
  }

  /**
   * The last check, right before the action runs, atomic with what it reads; a human-approved
   * `change` also claims its place in the incident's current round. RateLimiter.take enters it in
   * the same script as the limits; `refusal` reads its verdict: why not, or null.
   */
  entry(
    job: ActionJob,
    change: RoundChange | null,
  ): GateEntry & { refusal(verdict: string[]): string | null } {
    return {
      keys: [
        this.keys.incidentState(job.incidentId),
        this.roundKey(job.incidentId),
        this.accounting.exec(`round-changes:${job.incidentId}`),
      ],
      args: [job.requestedBy === 'agent' ? 'agent' : 'human', change?.key ?? '', String(ROUND_TTL_SECONDS)],
      refusal: ([verdict, first = '', second = '']) => {
        if (verdict === 'closed')
          return agentStopReason({ status: first === 'failed' ? 'failed' : 'resolved' });
        if (verdict === 'owned')
          return agentStopReason({ status: 'escalated', acknowledgedBy: first, acknowledgedAt: second });
        if (verdict === 'ran')
          return `${change?.words} already ran in this round (${first}); a second approval does not run it again`;
        return null;
      },
    };
  }

  /** A re-run starts a new round: approved changes of earlier rounds no longer count. */
  async startRound(incidentId: string, round: string): Promise<void> {
    await this.redis.set(this.roundKey(incidentId), round, 'EX', ROUND_TTL_SECONDS);
  }

  private roundKey(incidentId: string): string {
    return this.keys.exec(`round:${incidentId}`);
  }
}
