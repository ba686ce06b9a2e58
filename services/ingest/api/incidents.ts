import type { Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { incidentHistory } from '../../../shared/outcomes.js';
import { incidentStatusSchema } from '../../../shared/schemas/incident.js';
import {
  incidentCommandBodySchema,
  incidentCommandResultSchema,
  incidentCommandSchema,
} from '../../../shared/schemas/jobs.js';
import { incidentTargets } from '../../../shared/targets/incident-targets.js';
import type { AuthEnv } from '../auth.js';
import { requestIncidentCommand } from '../executor-requests.js';
import { validated } from '../validate.js';
import type { Api } from './context.js';

const listQuerySchema = z.object({
  status: incidentStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .regex(/^\d+:[A-Za-z0-9_-]+$/, 'cursor is the nextCursor of a previous page')
    .optional(),
});

// `by` may be left out: the credential says who (see actor.ts).
const commandBodySchema = incidentCommandBodySchema.partial({ by: true });

// acknowledge | resolve | rerun; any other word is not a route here (404).
const knownCommand: MiddlewareHandler = async (c, next) => {
  if (!incidentCommandSchema.safeParse(c.req.param('command')).success)
    return c.json({ error: 'not found' }, 404);
  await next();
};

/** /api/incidents: the list, one incident with its targets, and the commands the executor carries out. */
export function incidentRoutes(app: Hono<AuthEnv>, api: Api): void {
  const { deps } = api;
  app.get('/incidents', api.viewer, validated('query', listQuerySchema, 'invalid query'), async (c) => {
    const page = await deps.incidents.list(c.req.valid('query'));
    const short = await deps.incidents.shortIds(page.incidents.map((incident) => incident.id));
    return c.json({
      ...page,
      incidents: page.incidents.map((incident) => ({ ...incident, shortId: short.get(incident.id) })),
    });
  });

  app.get('/incidents/:id', api.viewer, async (c) => {
    const match = await deps.incidents.resolveId(c.req.param('id'));
    if (!match.ok) return api.unknownId(c, 'incident', match);
    const incident = await deps.incidents.get(match.id);
    if (!incident) return c.json({ error: 'incident not found' }, 404);
    const placed = await incidentTargets(deps.incidents, deps.targets.current, incident.id);
    const here = placed.targets.map((entry) => ({
      target: entry.target,
      resource: entry.resource ?? entry.host,
    }));
    const history = await incidentHistory(api.outcomes, incident.id, here);
    return c.json({ ...incident, ...placed, history });
  });

  app.post(
    '/incidents/:id/:command',
    api.operator,
    knownCommand,
    validated('json', commandBodySchema, 'invalid body'),
    async (c) => {
      const command = incidentCommandSchema.parse(c.req.param('command'));
      const body = c.req.valid('json');
      const by = api.actor(c, body.by);
      if (by instanceof Response) return by;
      const match = await deps.incidents.resolveId(c.req.param('id'));
      if (!match.ok) return api.unknownId(c, 'incident', match);
      const request = { ...body, by, incidentId: match.id, command };
      const { done, value } = await requestIncidentCommand(deps.executor, request);
      deps.logger.warn({ ...request, done }, 'incident command requested');
      if (!done)
        return c.json(
          { done, error: 'requested; no executor has carried it out yet (is one running?)' },
          202,
        );
      const result = incidentCommandResultSchema.parse(value);
      if (!result.ok) return c.json({ error: result.reason }, result.notFound ? 404 : 409);
      // A fleet incident a human resolved closes: what it held is dropped, never run.
      if (command === 'resolve') await deps.fleets.closeResolved(match.id, by);
      return c.json({ done, ...result, by, incident: await deps.incidents.getSummary(match.id) });
    },
  );
}
