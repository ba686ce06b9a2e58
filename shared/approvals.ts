import type { PrefixMatch } from './id-prefix.js';
import { IssuedIds } from './issued-ids.js';
import type { Keyspace } from './keys.js';
import { loadLua } from './lua.js';
import { outboxEntry } from './outbox.js';
import type { RedisConnection } from './redis.js';
import { type Approval, type ApprovalStatus, approvalSchema } from './schemas/approval.js';
import type { NotificationJob } from './schemas/jobs.js';

const decideScript = loadLua(new URL('./lua/decide-approval-3.lua', import.meta.url));

const consumeScript = loadLua(new URL('./lua/consume-approval-1.lua', import.meta.url));

export type DecideResult = { ok: true; approval: Approval } | { ok: false; reason: string };

export class ApprovalStore {
  private readonly issued: IssuedIds;

  constructor(
    readonly redis: RedisConnection,
    readonly keys: Keyspace,
  ) {
    this.issued = new IssuedIds(
      redis,
      keys.approvalIds,
      async (id) => (await redis.exists(keys.approval(id))) === 1,
    );
  }

  /** Executor only: the request, and the notice asking for it recorded in the outbox with it. */
  async create(approval: Approval, notice: NotificationJob): Promise<void> {
    const parsed = approvalSchema.parse(approval);
    await this.redis
      .multi()
      .hset(this.keys.approval(parsed.id), {
        ...serialise(parsed),
        expiresMs: String(Date.parse(parsed.expiresAt)),
      })
      .zadd(this.keys.approvalsPending, Date.parse(parsed.expiresAt), parsed.id)
      .zadd(this.keys.approvalIds, 0, parsed.id)
      .hset(this.keys.outbox('executor'), notice.eventId, outboxEntry(notice))
      .exec();
  }

  async get(id: string): Promise<Approval | null> {
    const raw = await this.redis.hgetall(this.keys.approval(id));
    if (!raw.id) return null;
    return approvalSchema.parse({ ...raw, args: JSON.parse(raw.args ?? '{}') });
  }

  /**
   * An approval id, or a prefix of one unique among every approval ever requested (decided, expired
   * and spent ones included), so a prefix copied for one approval never names another.
   */
  async resolveId(idOrPrefix: string): Promise<PrefixMatch> {
    return this.issued.resolve(idOrPrefix);
  }

  /**
   * Approvals pending or unsettled from before the id index existed join it (at the executor's
   * start); older closed ones stay reachable by their whole id.
   */
  async indexEarlierIds(): Promise<void> {
    const [pending, unsettled] = await Promise.all([
      this.redis.zrange(this.keys.approvalsPending, 0, -1),
      this.redis.zrange(this.keys.approvalsUnsettled, 0, -1),
    ]);
    await this.issued.include([...pending, ...unsettled]);
  }

  /** Each id's shortest prefix unique among every approval ever requested. */
  async shortIds(ids: readonly string[]): Promise<Map<string, string>> {
    return this.issued.shortIds(ids);
  }

  /** Pending approvals, soonest to expire first. */
  async listPending(limit = 500): Promise<Approval[]> {
    const ids = await this.redis.zrange(this.keys.approvalsPending, 0, limit - 1);
    const approvals = await Promise.all(ids.map((id) => this.get(id)));
    return approvals.filter((a): a is Approval => a !== null && a.status === 'pending');
  }

  /** Ingest: a human approves or denies. */
  async decide(
    id: string,
    status: Extract<ApprovalStatus, 'approved' | 'denied'>,
    by: string,
    comment = '',
  ): Promise<DecideResult> {
    const now = new Date();
    const reply = (await decideScript.run(
      this.redis,
      [this.keys.approval(id), this.keys.approvalsPending, this.keys.approvalsUnsettled],
      [status, by, comment, now.toISOString(), String(now.getTime())],
    )) as string;
    if (reply === 'already_cancelled') {
      const cancelled = await this.get(id);
      return { ok: false, reason: `already_cancelled (${cancelled?.comment ?? 'no reason recorded'})` };
    }
    if (reply !== 'ok') return { ok: false, reason: reply };
    const approval = await this.get(id);
    return approval ? { ok: true, approval } : { ok: false, reason: 'not_found' };
  }

  /** Pending approvals of one incident. */
  async pendingOf(incidentId: string): Promise<Approval[]> {
    const ids = await this.redis.zrange(this.keys.approvalsPending, 0, -1);
    if (ids.length === 0) return [];
    const owners = await Promise.all(ids.map((id) => this.redis.hget(this.keys.approval(id), 'incidentId')));
    const mine = ids.filter((_, i) => owners[i] === incidentId);
    const approvals = await Promise.all(mine.map((id) => this.get(id)));
    return approvals.filter((a): a is Approval => a !== null && a.status === 'pending');
  }

  /**
   * Executor: closes a pending approval unanswered (`by` who or what, `reason` why), in the same
   * atomic step as a human's decision, so an approve racing it loses (or wins, and this refuses).
   * The approval as cancelled, or null when it was no longer pending.
   */
  async cancel(id: string, by: string, reason: string): Promise<Approval | null> {
    const now = new Date();
    const reply = (await decideScript.run(
      this.redis,
      [this.keys.approval(id), this.keys.approvalsPending, this.keys.approvalsUnsettled],
      ['cancelled', by, reason, now.toISOString(), String(now.getTime())],
    )) as string;
    if (reply !== 'ok') return null;
    return this.get(id);
  }

  /** Executor: spend the approval on this exact action. Returns null when allowed, else the reason. */
  async consume(id: string, tool: string, argsHash: string): Promise<string | null> {
    const reply = (await consumeScript.run(
      this.redis,
      [this.keys.approval(id)],
      [tool, argsHash, String(Date.now())],
    )) as string;
    return reply === 'ok' ? null : reply;
  }

  /** Decided or expired approvals whose consequences are not all recorded yet, oldest first. */
  async unsettled(limit = 100): Promise<Approval[]> {
    const ids = await this.redis.zrange(this.keys.approvalsUnsettled, 0, limit - 1);
    const approvals: Approval[] = [];
    for (const id of ids) {
      const approval = await this.get(id);
      if (approval) approvals.push(approval);
      else await this.settled(id);
    }
    return approvals;
  }

  /** The decision's consequences are all recorded. */
  async settled(id: string): Promise<void> {
    await this.redis.zrem(this.keys.approvalsUnsettled, id);
  }

  /** Executor's sweeper: marks overdue pending approvals expired and returns them. */
  async expireDue(now = Date.now()): Promise<Approval[]> {
    const ids = await this.redis.zrangebyscore(this.keys.approvalsPending, '-inf', now);
    const expired: Approval[] = [];
    for (const id of ids) {
      const reply = await this.decideExpired(id, now);
      if (reply) expired.push(reply);
    }
    return expired;
  }

  private async decideExpired(id: string, now: number): Promise<Approval | null> {
    const reply = (await decideScript.run(
      this.redis,
      [this.keys.approval(id), this.keys.approvalsPending, this.keys.approvalsUnsettled],
      ['expired', 'system', '', new Date(now).toISOString(), String(now)],
    )) as string;
    if (reply !== 'ok' && reply !== 'expired') return null;
    return this.get(id);
  }
}

/** Why a closed approval cannot be decided: `approval apr_… was already denied by bob at …`. */
export function closedApprovalReason(approval: Approval): string {
  const spent = approval.status === 'used';
  const by = approval.decidedBy && approval.status !== 'expired' ? ` by ${approval.decidedBy}` : '';
  const at = approval.decidedAt ? ` at ${approval.decidedAt}` : '';
  return `approval ${approval.id} was already ${spent ? 'approved' : approval.status}${by}${at}${spent ? ' and spent' : ''}`;
}

function serialise(approval: Approval): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(approval)) {
    if (value === undefined) continue;
    out[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}
