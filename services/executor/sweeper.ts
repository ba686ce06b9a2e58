import type { ApprovalDecisions } from '../../shared/approval-decisions.js';
import type { ApprovalStore } from '../../shared/approvals.js';

/** How long a human decision may take to record its consequences before the sweeper does it. */
export const SETTLE_GRACE_MS = 30_000;

/**
 * Marks overdue approvals expired and settles them (action denied, incident escalated, humans told),
 * cancels those of incidents the agent may no longer act on, and settles the decisions whose
 * deciding process died before recording their consequences. Returns how many approvals it expired.
 */
export async function sweepApprovals(
  approvals: ApprovalStore,
  decisions: ApprovalDecisions,
  now = Date.now(),
): Promise<number> {
  const expired = await approvals.expireDue(now);
  for (const approval of expired) await decisions.settle(approval, 'executor');
  await decisions.cancelWhereStopped();
  for (const approval of await approvals.unsettled()) {
    const decidedMs = Date.parse(approval.decidedAt ?? '');
    // Expired ones have no other settler; a human decision is normally settled by ingest right away.
    if (approval.status === 'expired' || !(now - decidedMs < SETTLE_GRACE_MS))
      await decisions.settle(approval, 'executor');
  }
  return expired.length;
}
