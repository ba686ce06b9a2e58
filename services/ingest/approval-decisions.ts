import type { Queue } from 'bullmq';
import type { ApprovalStore } from '../../shared/approvals.js';
import type { IncidentStore } from '../../shared/incidents.js';
import { enqueueNotification } from '../../shared/notify.js';
import type { Approval } from '../../shared/schemas/approval.js';
import type { ActionJob, NotificationJob } from '../../shared/schemas/jobs.js';

export type Decision = 'approved' | 'denied';
export type DecisionResult = { ok: true; approval: Approval } | { ok: false; reason: string };

/**
 * A human's answer to an approval, from the API, the CLI or Slack. Approving hands the exact approved
 * action to the executor (which re-checks and spends the approval once); denying also goes to the
 * executor so the action is recorded as denied by the component that owns action records.
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
    const { approval } = result;
    const actionId = `run-${approval.id}`;
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
    await this.incidents.appendTimeline(approval.incidentId, {
      type: 'approval',
      by: 'ingest',
      approvalId: approval.id,
      tool: approval.tool,
      decision,
      decidedBy: by,
      comment,
    });
    if (decision === 'denied') {
      await this.incidents.setStatus(approval.incidentId, 'escalated', 'ingest', {
        from: ['awaiting_approval'],
        message: `${by} denied ${approval.tool}; a human owns this incident now`,
      });
    }
    await enqueueNotification(this.notificationQueue, {
      eventId: `decided-${approval.id}`,
      incidentId: approval.incidentId,
      event: 'approval_decided',
      severity: decision === 'denied' ? 'warning' : 'info',
      title: `${approval.tool} ${decision} by ${by}`,
      text: comment ? `${by}: ${comment}` : `${by} ${decision} ${approval.tool}.`,
      approvalId: approval.id,
    });
    return result;
  }
}
