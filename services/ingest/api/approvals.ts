import type { Hono } from 'hono';
import { closedApprovalReason } from '../../../shared/approvals.js';
import { approvalDecisionBodySchema } from '../../../shared/schemas/approval.js';
import type { AuthEnv } from '../auth.js';
import { validated } from '../validate.js';
import type { Api } from './context.js';

// `by` may be left out: the credential says who (see actor.ts).
const decisionBodySchema = approvalDecisionBodySchema.partial({ by: true });

/** /api/approvals: what waits for a human, and approving or denying it. */
export function approvalRoutes(app: Hono<AuthEnv>, api: Api): void {
  const { deps } = api;
  app.get('/approvals', api.viewer, async (c) => {
    const approvals = await deps.approvals.listPending();
    const [short, incidents] = await Promise.all([
      deps.approvals.shortIds(approvals.map((approval) => approval.id)),
      deps.incidents.shortIds(approvals.map((approval) => approval.incidentId)),
    ]);
    return c.json({
      approvals: approvals.map((approval) => ({
        ...approval,
        shortId: short.get(approval.id),
        incidentShortId: incidents.get(approval.incidentId),
      })),
    });
  });

  for (const [verb, decision] of [
    ['approve', 'approved'],
    ['deny', 'denied'],
  ] as const) {
    app.post(
      `/approvals/:id/${verb}`,
      api.approver,
      validated('json', decisionBodySchema, 'invalid body'),
      async (c) => {
        const { comment } = c.req.valid('json');
        const by = api.actor(c, c.req.valid('json').by);
        if (by instanceof Response) return by;
        const match = await deps.approvals.resolveId(c.req.param('id'));
        if (!match.ok) return api.unknownId(c, 'approval', match);
        const result = await deps.decisions.decide(match.id, decision, by, comment);
        if (result.ok) return c.json({ approval: result.approval });
        // Closed (decided, expired, spent, or any state but pending): said with who and when.
        const closed = result.reason === 'not_found' ? null : await deps.approvals.get(match.id);
        if (closed && closed.status !== 'pending')
          return c.json({ error: closedApprovalReason(closed), details: { reason: result.reason } }, 409);
        const status = result.reason === 'not_found' ? 404 : 409;
        return c.json({ error: `approval cannot be ${decision}: ${result.reason}` }, status);
      },
    );
  }
}
