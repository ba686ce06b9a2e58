import { z } from 'zod';
import type { Approval } from '../../shared/schemas/approval.js';
import type { Cli } from '../cli-context.js';
import { describeApprovalRequest } from '../describe.js';
import { age, type ShortIds, table } from '../table.js';

/** `hermes approvals` */
export async function listApprovals({ call, output }: Cli): Promise<void> {
  const json = (await call('GET', '/api/approvals')) as { approvals: (Approval & ShortIds)[] };
  output(json, () =>
    json.approvals.length === 0
      ? 'no pending approvals'
      : table(
          json.approvals.map((a) => ({
            id: a.shortId ?? a.id,
            incident: a.incidentShortId ?? a.incidentId,
            risk: a.risk,
            expires: age(a.expiresAt, -1),
            what: describeApprovalRequest(a),
          })),
          ['id', 'incident', 'risk', 'expires', 'what'],
        ),
  );
}

/** `hermes approve|deny <id> [--comment TEXT]` */
export function decideApproval(command: 'approve' | 'deny') {
  return async ({ arg, options, by, who, call, output }: Cli): Promise<void> => {
    const id = z.string().min(1, 'usage: hermes approve <approval id>').parse(arg);
    const json = await call('POST', `/api/approvals/${encodeURIComponent(id)}/${command}`, {
      by,
      comment: options.comment,
    });
    const { approval } = json as { approval: Approval };
    output(json, () =>
      approval.tool === 'request_human_confirmation' && command === 'approve'
        ? `${approval.id} approved by ${approval.decidedBy ?? who}: you own incident ${approval.incidentId} now`
        : `${approval.id} ${command === 'approve' ? 'approved' : 'denied'} by ${approval.decidedBy ?? who}: ${describeApprovalRequest(approval)}`,
    );
  };
}
