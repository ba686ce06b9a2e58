import type { Context, Hono } from 'hono';
import type { FleetSummary } from '../../../shared/fleet.js';
import { fleetCancelJobSchema, fleetReleaseJobSchema } from '../../../shared/schemas/jobs.js';
import type { AuthEnv } from '../auth.js';
import { type FleetAnswer, requestFleetCancel, requestFleetRelease } from '../executor-requests.js';
import { validated } from '../validate.js';
import type { Api } from './context.js';

// `by` may be left out: the credential says who (see actor.ts).
const releaseBodySchema = fleetReleaseJobSchema.omit({ fleetId: true }).partial({ by: true });
const cancelBodySchema = fleetCancelJobSchema.omit({ fleetId: true }).partial({ by: true });

/**
 * /api/incidents/:id/release and /cancel-held: a human releases the changes an open fleet incident
 * holds in one region, or cancels them all. The executor, which holds them, does it and audits it.
 * Registered before the incident commands (their `:command` would answer these paths 404).
 */
export function fleetRoutes(app: Hono<AuthEnv>, api: Api): void {
  const { deps } = api;

  /** The open fleet incident `:id` names, or the answer saying why there is none. */
  async function openFleet(c: Context<AuthEnv>): Promise<{ id: string; fleet: FleetSummary } | Response> {
    const match = await deps.incidents.resolveId(c.req.param('id') ?? '');
    if (!match.ok) return api.unknownId(c, 'incident', match);
    const incident = await deps.incidents.get(match.id);
    if (!incident) return c.json({ error: 'incident not found' }, 404);
    if (!incident.fleet) return c.json({ error: `${match.id} is not a fleet incident` }, 409);
    if (incident.fleet.status !== 'open')
      return c.json({ error: `fleet incident ${match.id} is closed: it holds no changes` }, 409);
    return { id: match.id, fleet: incident.fleet };
  }

  /** The executor's answer, or 504 when none came in time (the request stays queued: nothing is lost). */
  async function answered<T extends object>(
    c: Context<AuthEnv>,
    id: string,
    by: string,
    answer: FleetAnswer<T>,
    said: (value: T) => string,
  ): Promise<Response> {
    if (!answer.done) {
      deps.logger.warn({ incidentId: id, by, error: answer.error }, 'fleet request not answered');
      const error = answer.timedOut
        ? 'the executor did not answer in time; nothing is lost: the request stays queued and is carried out when an executor takes it'
        : `the executor did not carry it out: ${answer.error}`;
      return c.json({ error }, answer.timedOut ? 504 : 502);
    }
    await deps.incidents.appendTimeline(id, { type: 'summary', by, message: said(answer.value) });
    return c.json({ ...answer.value, by });
  }

  app.post(
    '/incidents/:id/release',
    api.approver,
    validated('json', releaseBodySchema, 'invalid body'),
    async (c) => {
      const body = c.req.valid('json');
      const by = api.actor(c, body.by);
      if (by instanceof Response) return by;
      const open = await openFleet(c);
      if (open instanceof Response) return open;
      if (!open.fleet.regions.includes(body.region))
        return c.json(
          {
            error: `fleet incident ${open.id} fires in ${open.fleet.regions.join(', ')}, not in ${body.region}`,
          },
          400,
        );
      const answer = await requestFleetRelease(deps.executor, { fleetId: open.id, region: body.region, by });
      deps.logger.warn({ incidentId: open.id, region: body.region, by, done: answer.done }, 'fleet release');
      return answered(c, open.id, by, answer, ({ released }) => {
        return `released the changes held in ${body.region}: ${released} (by ${by})`;
      });
    },
  );

  app.post(
    '/incidents/:id/cancel-held',
    api.approver,
    validated('json', cancelBodySchema, 'invalid body'),
    async (c) => {
      const body = c.req.valid('json');
      const by = api.actor(c, body.by);
      if (by instanceof Response) return by;
      const open = await openFleet(c);
      if (open instanceof Response) return open;
      const request = { fleetId: open.id, by, ...(body.reason ? { reason: body.reason } : {}) };
      const answer = await requestFleetCancel(deps.executor, request);
      deps.logger.warn({ incidentId: open.id, by, done: answer.done }, 'fleet cancel-held');
      const why = body.reason ? `: ${body.reason}` : '';
      return answered(c, open.id, by, answer, ({ cancelled }) => {
        return `cancelled the changes held: ${cancelled} (by ${by})${why}`;
      });
    },
  );
}
