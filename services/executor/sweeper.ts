import type { Queue } from 'bullmq';
import type { ApprovalStore } from '../../shared/approvals.js';
import type { IncidentStore } from '../../shared/incidents.js';
import { enqueueNotification } from '../../shared/notify.js';
import type { NotificationJob } from '../../shared/schemas/jobs.js';

/**
 * Marks overdue approvals expired, closes the action they were holding (denied), hands the incident
 * to humans (escalated) and tells them.
 */
export async function sweepExpiredApprovals(
  approvals: ApprovalStore,
  incidents: IncidentStore,
  notifications: Queue<NotificationJob>,
): Promise<number> {
  const expired = await approvals.expireDue();
  for (const approval of expired) {
    await incidents.appendTimeline(approval.incidentId, {
      type: 'approval',
      by: 'executor',
      tool: approval.tool,
      approvalId: approval.id,
      actionId: approval.actionId,
      decision: 'expired',
      message: `nobody answered by ${approval.expiresAt}`,
    });
    const action = await incidents.getAction(approval.incidentId, approval.actionId);
    if (action?.decision === 'pending_approval') {
      await incidents.recordAction(approval.incidentId, {
        ...action,
        decision: 'denied',
        reason: `approval ${approval.id} expired unanswered at ${approval.expiresAt}`,
      });
    }
    await incidents.setStatus(approval.incidentId, 'escalated', 'executor', {
      from: ['awaiting_approval'],
      message: `approval for ${approval.tool} expired; a human owns this incident now`,
    });
    await enqueueNotification(notifications, {
      eventId: `decided-${approval.id}`,
      incidentId: approval.incidentId,
      event: 'approval_decided',
      severity: 'warning',
      title: `${approval.tool} approval expired`,
      text: `Nobody approved ${approval.tool} before ${approval.expiresAt}; it will not run.`,
      approvalId: approval.id,
    });
  }
  return expired.length;
}
