import type { Queue } from 'bullmq';
import type { ApprovalStore } from './approvals.js';
import { type IncidentStore, OWNABLE_STATUSES } from './incidents.js';
import {
  agentStopReason,
  approvalCancelledNotice,
  approvalDecidedNotice,
  approvalExpiredNotice,
  questionAnsweredNotice,
} from './notices.js';
import { enqueueNotification } from './notify.js';
import type { Approval } from './schemas/approval.js';
import type { IncidentSummary } from './schemas/incident.js';
import type { ActionJob, NotificationJob } from './schemas/jobs.js';

export type Decision = 'approved' | 'denied';

/** The agent's question to a human: approving it is taking ownership, not running a fix. */
const QUESTION = 'request_human_confirmation';
export type DecisionResult = { ok: true; approval: Approval } | { ok: false; reason: string };

/**
 * A human's answer to an approval, from the API, the CLI or Slack, and what follows from it or from
 * its expiry. Approving hands the exact approved action to the executor (which re-checks and spends
 * the approval once); denying also goes to the executor so the action is recorded as denied by the
 * component that owns action records; both (and expiry) go on the timeline and to the humans.
 *
 * The decision is one atomic write that also marks the approval unsettled; its consequences follow,
 * each safe to repeat, and then it is settled. If the deciding process dies in between, the
 * executor's sweeper settles it.
 */
export class ApprovalDecisions {
  constructor(
    private readonly approvals: ApprovalStore,
    private readonly incidents: IncidentStore,
    private readonly actionQueue: Queue<ActionJob>,
    private readonly notificationQueue: Queue<NotificationJob>,
  ) {}

  async decide(
    approvalId: string,
    decision: Decision,
    by: string,
    comment?: string,
  ): Promise<DecisionResult> {
    const result = await this.approvals.decide(approvalId, decision, by, comment ?? '');
    if (!result.ok) return result;
    await this.settle(result.approval, 'ingest');
    return result;
  }

  /**
   * Executor: closes the incident's pending approvals unanswered, because of a human's word (`by`
   * who, `reason` why: "resolved by alice", "re-run by bob") or the incident's end, and settles them.
   * Returns how many it cancelled.
   */
  async cancelPending(incidentId: string, by: string, reason: string): Promise<number> {
    let cancelled = 0;
    for (const pending of await this.approvals.pendingOf(incidentId)) {
      const approval = await this.approvals.cancel(pending.id, by, reason);
      if (!approval) continue;
      await this.settle(approval, 'executor');
      cancelled++;
    }
    return cancelled;
  }

  /**
   * Executor's sweep: cancels pending approvals of incidents the agent may no longer act on (failed,
   * resolved by their alerts, taken by a human who answered its question), which no command of the
   * executor's closed. Returns how many it cancelled.
   */
  async cancelWhereStopped(): Promise<number> {
    const incidentIds = new Set((await this.approvals.listPending()).map((approval) => approval.incidentId));
    let cancelled = 0;
    for (const incidentId of incidentIds) {
      const incident = await this.incidents.getSummary(incidentId);
      const reason = agentStopReason(incident);
      if (!reason) continue;
      cancelled += await this.cancelPending(incidentId, await this.stoppedBy(incidentId, incident), reason);
    }
    return cancelled;
  }

  /** Who stopped the agent: the owner, else whoever made the last status change ("human:alice" → alice). */
  private async stoppedBy(incidentId: string, incident: IncidentSummary | null): Promise<string> {
    if (incident?.acknowledgedBy && incident.status !== 'resolved' && incident.status !== 'failed')
      return incident.acknowledgedBy;
    const change = (await this.incidents.timeline(incidentId))
      .filter((entry) => entry.type === 'status')
      .at(-1);
    return (change?.by ?? 'executor').replace(/^human:/, '');
  }

  /**
   * Records (again, if need be) what follows from a decided, expired or cancelled approval, then
   * settles it. Expiry and cancellation write the action record, which only the executor may do.
   */
  async settle(approval: Approval, recordedBy: string): Promise<void> {
    if (approval.status === 'approved' || approval.status === 'denied')
      await this.afterDecision(approval, approval.status, recordedBy);
    // Spent: its action job ran (so it was queued); what came after it may not have been recorded.
    else if (approval.status === 'used') await this.afterDecision(approval, 'approved', recordedBy, false);
    else if (approval.status === 'expired') await this.afterExpiry(approval);
    else if (approval.status === 'cancelled') await this.afterCancel(approval);
    await this.approvals.settled(approval.id);
  }

  private async afterDecision(
    approval: Approval,
    decision: Decision,
    recordedBy: string,
    queueAction = true,
  ): Promise<void> {
    const by = approval.decidedBy ?? 'unknown';
    const comment = approval.comment ?? '';
    const actionId = `run-${approval.id}`;
    // The job id makes a repeat a no-op.
    if (queueAction)
      await this.actionQueue.add(
        'action',
        {
          actionId,
          incidentId: approval.incidentId,
          tool: approval.tool,
          args: approval.args,
          requestedBy: `human:${by}`,
          approvalId: approval.id,
        },
        { jobId: actionId },
      );
    if (!(await this.onTimeline(approval, decision))) {
      await this.incidents.appendTimeline(approval.incidentId, {
        type: 'approval',
        by: recordedBy,
        approvalId: approval.id,
        tool: approval.tool,
        decision,
        decidedBy: by,
        comment,
      });
    }
    if (decision === 'denied') {
      await this.incidents.setStatus(approval.incidentId, 'escalated', recordedBy, {
        from: ['awaiting_approval'],
        message: `${by} denied ${approval.tool}; a human owns this incident now`,
      });
    }
    if (decision === 'approved' && approval.tool === QUESTION)
      return this.takeOwnership(approval, by, comment);
    await this.announce(approvalDecidedNotice(approval, decision, by, comment));
  }

  /**
   * Approving the agent's question (request_human_confirmation) runs nothing: it means "I take
   * it". The incident is escalated to, and acknowledged by, that human; nothing is verified.
   */
  private async takeOwnership(approval: Approval, by: string, comment: string): Promise<void> {
    const asked = approval.description?.split('\n')[0] || approval.tool;
    // Settling again (a sweep after a crash) must not record the ownership twice.
    const now = await this.incidents.getSummary(approval.incidentId);
    if (now?.acknowledgedBy !== by || now.status !== 'escalated')
      await this.incidents.setStatus(approval.incidentId, 'escalated', `human:${by}`, {
        from: OWNABLE_STATUSES,
        message: `${by} took ownership (answered yes to: ${asked})${comment ? `: ${comment}` : ''}`,
        acknowledgedBy: by,
      });
    await this.announce(questionAnsweredNotice(approval, by, comment, asked));
  }

  /** Closes the action it was holding (denied), hands the incident to humans (escalated), tells them. */
  private async afterExpiry(approval: Approval): Promise<void> {
    await this.closeHeldAction(
      approval,
      { decision: 'expired', message: `nobody answered by ${approval.expiresAt}` },
      { decision: 'denied', reason: `approval ${approval.id} expired unanswered at ${approval.expiresAt}` },
    );
    await this.incidents.setStatus(approval.incidentId, 'escalated', 'executor', {
      from: ['awaiting_approval'],
      message: `approval for ${approval.tool} expired; a human owns this incident now`,
    });
    await this.announce(approvalExpiredNotice(approval));
  }

  /** Closes the action it was holding (cancelled) and tells humans; the incident's status is left as it is. */
  private async afterCancel(approval: Approval): Promise<void> {
    const reason = approval.comment ?? 'cancelled';
    await this.closeHeldAction(
      approval,
      { decision: 'cancelled', decidedBy: approval.decidedBy ?? 'executor', comment: reason },
      { decision: 'cancelled', reason: `approval ${approval.id} cancelled: ${reason}` },
    );
    await this.announce(approvalCancelledNotice(approval, reason));
  }

  /**
   * An approval closed without a human's yes or no: said once on the timeline, and the action it held
   * (still `pending_approval`) closed with it. Both steps are safe to repeat after a crash.
   */
  private async closeHeldAction(
    approval: Approval,
    entry: { decision: 'expired' | 'cancelled'; message?: string; decidedBy?: string; comment?: string },
    action: { decision: 'denied' | 'cancelled'; reason: string },
  ): Promise<void> {
    if (!(await this.onTimeline(approval, entry.decision))) {
      await this.incidents.appendTimeline(approval.incidentId, {
        type: 'approval',
        by: 'executor',
        tool: approval.tool,
        approvalId: approval.id,
        actionId: approval.actionId,
        ...entry,
      });
    }
    const held = await this.incidents.getAction(approval.incidentId, approval.actionId);
    if (held?.decision === 'pending_approval')
      await this.incidents.recordAction(approval.incidentId, { ...held, ...action });
  }

  /** One notification per approval outcome: its eventId makes a repeat a no-op. */
  private async announce(notice: NotificationJob): Promise<void> {
    await enqueueNotification(this.notificationQueue, notice);
  }

  private async onTimeline(approval: Approval, decision: string): Promise<boolean> {
    return (await this.incidents.timeline(approval.incidentId)).some(
      (entry) => entry.type === 'approval' && entry.approvalId === approval.id && entry.decision === decision,
    );
  }
}
