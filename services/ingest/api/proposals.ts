import type { Hono } from 'hono';
import { z } from 'zod';
import { randomId } from '../../../shared/ids.js';
import { approvalDecisionBodySchema } from '../../../shared/schemas/approval.js';
import { type ActionJob, actionJobSchema, actionOutcomeSchema } from '../../../shared/schemas/jobs.js';
import type { AuthEnv } from '../auth.js';
import { requestAction } from '../executor-requests.js';
import { validated } from '../validate.js';
import type { Api } from './context.js';

/** What every proposal's answer says: whoever proposes, the executor decides. */
export const DECIDED_LIKE_THE_AGENT =
  "decided by the executor exactly like the agent's own requests (policy tier, incident level, scope, rate limits, circuit breaker, approvals)";
/** The executor stops waiting for a proposal's decision after this long (it then refuses to run it). */
const DECISION_DEADLINE_MS = 60_000;

export const proposalBodySchema = z.object({
  incident: z.string().min(1).max(100).describe('incident id, or a prefix of one'),
  tool: z.string().min(1).max(100),
  args: z.record(z.string(), z.unknown()).default({}),
  reason: z.string().min(1).max(2_000).optional(),
  by: approvalDecisionBodySchema.shape.by.optional(),
  /** Where the proposal was made: shown on the incident; who made it comes from the credential. */
  via: z.enum(['api', 'mcp']).default('api'),
});

/**
 * POST /api/proposals: a human (or their MCP client) proposes a tool call on an incident. It is put to
 * the executor as that human's request, and the executor decides it as it decides the agent's.
 */
export function proposalRoutes(app: Hono<AuthEnv>, api: Api): void {
  const { deps } = api;
  app.post('/proposals', api.operator, validated('json', proposalBodySchema, 'invalid body'), async (c) => {
    const body = c.req.valid('json');
    const by = api.actor(c, body.by);
    if (by instanceof Response) return by;
    const match = await deps.incidents.resolveId(body.incident);
    if (!match.ok) return api.unknownId(c, 'incident', match);
    const job: ActionJob = actionJobSchema.parse({
      actionId: randomId('act'),
      incidentId: match.id,
      tool: body.tool,
      args: body.args,
      requestedBy: `human:${by}`,
      deadline: new Date(Date.now() + DECISION_DEADLINE_MS).toISOString(),
      ...(body.reason ? { approvalRequest: { reason: body.reason, risk: 'medium' } } : {}),
    });
    const via = body.via === 'mcp' ? 'MCP' : 'the API';
    await deps.incidents.appendTimeline(match.id, {
      type: 'summary',
      kind: 'proposal',
      via: body.via,
      by: `human:${by}`,
      tool: body.tool,
      args: body.args,
      actionId: job.actionId,
      message: `${by} proposed ${body.tool} via ${via}; the executor decides it`,
    });
    deps.logger.warn(
      { by, via: body.via, incidentId: match.id, tool: body.tool, actionId: job.actionId },
      'action proposed',
    );
    const { done, value } = await requestAction(deps.executor, job);
    if (!done)
      return c.json(
        { done, actionId: job.actionId, error: 'proposed; no executor has decided it yet (is one running?)' },
        202,
      );
    const outcome = actionOutcomeSchema.parse(value);
    return c.json({ done, by, incidentId: match.id, decidedBy: DECIDED_LIKE_THE_AGENT, ...outcome });
  });
}
