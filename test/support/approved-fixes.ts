import type { ExecutorHarness } from './executor-harness.js';
import { openIncident } from './incidents.js';

/** Recurrence and rate limits out of the way, for tests that repeat one approved fix. */
export const REPEATABLE = 'recurrence: { maxRepeats: 1000, windowSeconds: 3600 }\n';

/**
 * A level-2 incident on `service`, the agent's restart of it asked of a human, `approver` approving
 * it, the approved run, and triage's verdict. Returns the incident id.
 */
export async function approvedRestart(
  h: ExecutorHarness,
  fix: { service: string; approver: string; effective: boolean; alertname?: string },
): Promise<string> {
  const incidentId = await openIncident(h.t, {
    alertname: fix.alertname ?? 'ServiceDown',
    service: fix.service,
    level: 2,
  });
  const args = { service: fix.service, host: 'app-server-01', reason: 'down' };
  const asked = await h.submit({ incidentId, tool: 'restart_service', args });
  if (asked.decision !== 'pending_approval' || !asked.approvalId)
    throw new Error(`expected an approval request, got ${asked.decision}: ${asked.reason}`);
  const decided = await h.approvals.decide(asked.approvalId, 'approved', fix.approver);
  if (!decided.ok) throw new Error(decided.reason);
  const run = await h.submit({
    actionId: `run-${asked.approvalId}`,
    incidentId,
    tool: 'restart_service',
    args,
    approvalId: asked.approvalId,
    requestedBy: `human:${fix.approver}`,
  });
  if (run.decision !== 'executed')
    throw new Error(`expected the approved run, got ${run.decision}: ${run.reason}`);
  await h.feedback({ incidentId, actionId: run.actionId, effective: fix.effective });
  return incidentId;
}
