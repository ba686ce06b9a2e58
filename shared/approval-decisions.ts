import type { Queue } from 'bullmq';
import type { ApprovalStore } from './approvals.js';
import { type IncidentStore, OWNABLE_STATUSES } from './incidents.js';
import { approvalDecidedNotice, approvalExpiredNotice, questionAnsweredNotice } from './notices.js';
import { enqueueNotification } from './notify.js';
import type { Approval } from './schemas/approval.js';
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
   * Records (again, if need be) what follows from a decided or expired approval, then settles it.
   * Expiry writes the action record, which only the executor may do.
   */
  async settle(approval: Approval, recordedBy: string): Promise<void> {
    if (approval.status === 'approved' || approval.status === 'denied')
      await this.afterDecision(approval, approval.status, recordedBy);
    // Spent: its action job ran (so it was queued); what came after it may not have been recorded.
    else if (approval.status === 'used') await this.afterDecision(approval, 'approved', recordedBy, false);
    else if (approval.status === 'expired') await this.afterExpiry(approval);
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
    if (!(await this.onTimeline(approval, 'expired'))) {
      await this.incidents.appendTimeline(approval.incidentId, {
        type: 'approval',
        by: 'executor',
        tool: approval.tool,
        approvalId: approval.id,
        actionId: approval.actionId,
        decision: 'expired',
        message: `nobody answered by ${approval.expiresAt}`,
      });
    }
    const action = await this.incidents.getAction(approval.incidentId, approval.actionId);
    if (action?.decision === 'pending_approval') {
      await this.incidents.recordAction(approval.incidentId, {
        ...action,
        decision: 'denied',
        reason: `approval ${approval.id} expired unanswered at ${approval.expiresAt}`,
      });
    }
    await this.incidents.setStatus(approval.incidentId, 'escalated', 'executor', {
      from: ['awaiting_approval'],
      message: `approval for ${approval.tool} expired; a human owns this incident now`,
    });
    await this.announce(approvalExpiredNotice(approval));
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
