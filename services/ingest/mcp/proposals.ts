import type { Queue } from 'bullmq';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { PrefixMatch } from '../../../shared/id-prefix.js';
import { randomId } from '../../../shared/ids.js';
import type { IncidentStore } from '../../../shared/incidents.js';
import type { Logger } from '../../../shared/logger.js';
import { approvalDecisionBodySchema } from '../../../shared/schemas/approval.js';
import { type ActionJob, actionJobSchema, actionOutcomeSchema } from '../../../shared/schemas/jobs.js';
import { actingName } from '../actor.js';
import type { AuthEnv } from '../auth.js';
import { requestAction } from '../executor-requests.js';
import { validated } from '../validate.js';

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

export interface ProposalDeps {
  incidents: IncidentStore;
  /** The executor's queue for humans' requests. */
  actions: Queue;
  logger: Logger;
}

/**
 * POST /api/proposals: a human (or their MCP client) proposes a tool call on an incident. It is put to
 * the executor as that human's request, and the executor decides it as it decides the agent's.
 */
export function createProposalRoute(deps: ProposalDeps, operator: MiddlewareHandler<AuthEnv>) {
  const app = new Hono<AuthEnv>();
  app.post('/api/proposals', operator, validated('json', proposalBodySchema, 'invalid body'), async (c) => {
    const body = c.req.valid('json');
    const acting = actingName(c.get('principal'), body.by);
    if (!acting.ok) return c.json({ error: acting.error }, acting.status);
    const match = await deps.incidents.resolveId(body.incident);
    if (!match.ok) return unknownIncident(c, body.incident, match);
    const job: ActionJob = actionJobSchema.parse({
      actionId: randomId('act'),
      incidentId: match.id,
      tool: body.tool,
      args: body.args,
      requestedBy: `human:${acting.by}`,
      deadline: new Date(Date.now() + DECISION_DEADLINE_MS).toISOString(),
      ...(body.reason ? { approvalRequest: { reason: body.reason, risk: 'medium' } } : {}),
    });
    const via = body.via === 'mcp' ? 'MCP' : 'the API';
    await deps.incidents.appendTimeline(match.id, {
      type: 'summary',
      kind: 'proposal',
      via: body.via,
      by: `human:${acting.by}`,
      tool: body.tool,
      args: body.args,
      actionId: job.actionId,
      message: `${acting.by} proposed ${body.tool} via ${via}; the executor decides it`,
    });
    deps.logger.warn(
      { by: acting.by, via: body.via, incidentId: match.id, tool: body.tool, actionId: job.actionId },
      'action proposed',
    );
    const { done, value } = await requestAction(deps.actions, job);
    if (!done)
      return c.json(
        { done, actionId: job.actionId, error: 'proposed; no executor has decided it yet (is one running?)' },
        202,
      );
    const outcome = actionOutcomeSchema.parse(value);
    return c.json({
      done,
      by: acting.by,
      incidentId: match.id,
      decidedBy: DECIDED_LIKE_THE_AGENT,
      ...outcome,
    });
  });
  return app;
}

function unknownIncident(c: Context, given: string, match: Exclude<PrefixMatch, { ok: true }>) {
  if (match.reason === 'not_found') return c.json({ error: 'incident not found' }, 404);
  return c.json(
    { error: `incident id ${given} is ambiguous: ${match.matches.join(', ')}; give more of it` },
    409,
  );
}
