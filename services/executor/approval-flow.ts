import type { ApprovalStore } from '../../shared/approvals.js';
import { actionHash } from '../../shared/canonical.js';
import { randomId } from '../../shared/ids.js';
import type { IncidentStore } from '../../shared/incidents.js';
import { approvalRequestedNotice, approvalRequestWording } from '../../shared/notices.js';
import type { NotificationOutbox } from '../../shared/outbox.js';
import type { Level } from '../../shared/schemas/incident.js';
import type { ActionJob } from '../../shared/schemas/jobs.js';
import type { Tier } from './policy.js';

export type SpendResult = { ok: true } | { ok: false; decision: 'blocked' | 'denied'; reason: string };

/** Creates approval requests for actions that need a human, and spends granted ones exactly once. */
export class ApprovalFlow {
  constructor(
    private readonly approvals: ApprovalStore,
    private readonly incidents: IncidentStore,
    private readonly outbox: NotificationOutbox,
    private readonly ttlSeconds: number,
  ) {}

  /** `operation` is the executor's own words for what would run, shown before the requester's. */
  async request(
    job: ActionJob,
    args: Record<string, unknown>,
    tier: Tier,
    level: Level,
    operation?: string,
  ): Promise<string> {
    const id = randomId('apr');
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.ttlSeconds * 1000).toISOString();
    const asked = job.approvalRequest;
    const advisory = job.tool === 'request_human_confirmation';
    const requested =
      asked?.description ??
      (advisory && typeof args.action_description === 'string' ? args.action_description : undefined);
    const { description, reason } = approvalRequestWording({
      tool: job.tool,
      args,
      operation,
      requested,
      givenReason:
        asked?.reason ?? (typeof args.reason === 'string' && args.reason ? args.reason : undefined),
      question: advisory,
      tier,
      level,
    });
    const riskArg = args.risk_level;
    const agentRisk =
      asked?.risk ?? (riskArg === 'low' || riskArg === 'medium' || riskArg === 'high' ? riskArg : undefined);
    // A change's risk is the policy's (its tier), never the requester's; a bare question keeps the
    // agent's rating, shown as the agent's.
    const risk = operation ? (tier === 'confirm' ? 'high' : 'medium') : (agentRisk ?? 'medium');
    const rollbackPlan =
      asked?.rollbackPlan ?? (typeof args.rollback_plan === 'string' ? args.rollback_plan : undefined);
    const notice = approvalRequestedNotice({
      approvalId: id,
      incidentId: job.incidentId,
      actionId: job.actionId,
      tool: job.tool,
      args,
      operation,
      question: advisory ? requested : undefined,
      description,
      reason,
      risk,
      agentRisk,
      rollbackPlan,
      expiresAt,
    });
    // The request and its notice are written together: dying before queueing it cannot lose it.
    await this.approvals.create(
      {
        id,
        incidentId: job.incidentId,
        actionId: job.actionId,
        tool: job.tool,
        args,
        argsHash: actionHash(job.tool, args),
        description,
        reason,
        risk,
        rollbackPlan,
        status: 'pending',
        requestedAt: now.toISOString(),
        expiresAt,
      },
      notice,
    );
    await this.incidents.setStatus(job.incidentId, 'awaiting_approval', 'executor', {
      from: ['open', 'diagnosing'],
      message: `waiting for a human to approve ${job.tool} (${id})`,
    });
    await this.outbox.deliver(notice);
    return id;
  }

  /** Only a human-approved job may spend an approval, and only on the exact action it was granted for. */
  async spend(job: ActionJob, approvalId: string, args: Record<string, unknown>): Promise<SpendResult> {
    if (!job.requestedBy.startsWith('human:'))
      return {
        ok: false,
        decision: 'blocked',
        reason: 'an approval id is accepted only on a human-approved job',
      };
    const approval = await this.approvals.get(approvalId);
    if (!approval || approval.incidentId !== job.incidentId)
      return {
        ok: false,
        decision: 'blocked',
        reason: `approval ${approvalId} does not exist for this incident`,
      };
    const refused = await this.approvals.consume(approvalId, job.tool, actionHash(job.tool, args));
    if (refused === null) return { ok: true };
    if (refused === 'not_approved:denied')
      return { ok: false, decision: 'denied', reason: `denied by ${approval.decidedBy ?? 'a human'}` };
    return { ok: false, decision: 'blocked', reason: `approval ${approvalId}: ${refused}` };
  }
}
