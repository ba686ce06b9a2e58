import type { Keyspace } from './keys.js';
import { outboxEntry } from './outbox.js';
import type { RedisConnection } from './redis.js';
import { type Approval, type ApprovalStatus, approvalSchema } from './schemas/approval.js';
import type { NotificationJob } from './schemas/jobs.js';

/**
 * Moves an approval out of `pending` atomically, so two clicks (or two replicas) decide once, and
 * marks it unsettled until its consequences are recorded (see ApprovalDecisions and the sweeper).
 * KEYS: approval hash, pending index, unsettled index. ARGV: new status, by, comment, now ISO, now ms.
 * Returns 'ok' or the reason it refused.
 */
const DECIDE_LUA = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'not_found' end
if status ~= 'pending' then return 'already_' .. status end
local id = redis.call('HGET', KEYS[1], 'id')
local expires = tonumber(redis.call('HGET', KEYS[1], 'expiresMs'))
local reply = 'ok'
if expires and tonumber(ARGV[5]) >= expires then
  redis.call('HSET', KEYS[1], 'status', 'expired', 'decidedAt', ARGV[4])
  reply = 'expired'
else
  redis.call('HSET', KEYS[1], 'status', ARGV[1], 'decidedBy', ARGV[2], 'comment', ARGV[3], 'decidedAt', ARGV[4])
end
redis.call('ZREM', KEYS[2], id)
redis.call('ZADD', KEYS[3], ARGV[5], id)
return reply
`;

/**
 * Spends an approved approval on exactly the action it was granted for, once.
 * KEYS: approval hash. ARGV: tool, argsHash, now ms. Returns 'ok' or the reason it refused.
 */
const CONSUME_LUA = `
local a = redis.call('HMGET', KEYS[1], 'status', 'tool', 'argsHash', 'expiresMs')
if not a[1] then return 'not_found' end
if a[1] == 'used' then return 'already_used' end
if a[1] ~= 'approved' then return 'not_approved:' .. a[1] end
if a[2] ~= ARGV[1] or a[3] ~= ARGV[2] then return 'action_mismatch' end
if tonumber(ARGV[3]) >= tonumber(a[4]) then return 'expired' end
redis.call('HSET', KEYS[1], 'status', 'used')
return 'ok'
`;

export type DecideResult = { ok: true; approval: Approval } | { ok: false; reason: string };

export class ApprovalStore {
  constructor(
    readonly redis: RedisConnection,
    readonly keys: Keyspace,
  ) {}

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
      .hset(this.keys.outbox('executor'), notice.eventId, outboxEntry(notice))
      .exec();
  }

  async get(id: string): Promise<Approval | null> {
    const raw = await this.redis.hgetall(this.keys.approval(id));
    if (!raw.id) return null;
    return approvalSchema.parse({ ...raw, args: JSON.parse(raw.args ?? '{}') });
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
    const reply = (await this.redis.eval(
      DECIDE_LUA,
      3,
      this.keys.approval(id),
      this.keys.approvalsPending,
      this.keys.approvalsUnsettled,
      status,
      by,
      comment,
      now.toISOString(),
      String(now.getTime()),
    )) as string;
    if (reply !== 'ok') return { ok: false, reason: reply };
    const approval = await this.get(id);
    return approval ? { ok: true, approval } : { ok: false, reason: 'not_found' };
  }

  /** Executor: spend the approval on this exact action. Returns null when allowed, else the reason. */
  async consume(id: string, tool: string, argsHash: string): Promise<string | null> {
    const reply = (await this.redis.eval(
      CONSUME_LUA,
      1,
      this.keys.approval(id),
      tool,
      argsHash,
      String(Date.now()),
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
    const reply = (await this.redis.eval(
      DECIDE_LUA,
      3,
      this.keys.approval(id),
      this.keys.approvalsPending,
      this.keys.approvalsUnsettled,
      'expired',
      'system',
      '',
      new Date(now).toISOString(),
      String(now),
    )) as string;
    if (reply !== 'ok' && reply !== 'expired') return null;
    return this.get(id);
  }
}

function serialise(approval: Approval): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(approval)) {
    if (value === undefined) continue;
    out[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}
