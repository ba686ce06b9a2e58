import { ApprovalStore } from '../../shared/approvals.js';
import type { Keyspace } from '../../shared/keys.js';
import type { RedisConnection } from '../../shared/redis.js';
import type { Approval } from '../../shared/schemas/approval.js';

/**
 * Creates a pending approval the way the executor does (with its approval_requested notice in the
 * outbox); fields not given are filler. Returns the approval.
 */
export async function createPendingApproval(
  redis: RedisConnection,
  keys: Keyspace,
  fields: Pick<Approval, 'id' | 'incidentId'> & Partial<Approval> & { expiresInMs?: number },
): Promise<Approval> {
  const { expiresInMs = 60_000, ...given } = fields;
  const now = Date.now();
  const approval: Approval = {
    actionId: `act-${given.id}`,
    tool: 'rollback_deployment',
    args: {},
    argsHash: 'h',
    reason: 'test',
    risk: 'high',
    status: 'pending',
    requestedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + expiresInMs).toISOString(),
    ...given,
  };
  await new ApprovalStore(redis, keys).create(approval, {
    eventId: `approval-${approval.id}`,
    incidentId: approval.incidentId,
    event: 'approval_requested',
    title: `Approval needed: ${approval.tool}`,
    text: approval.reason,
    approvalId: approval.id,
  });
  return approval;
}
