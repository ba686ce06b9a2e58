import type { Context, Hono } from 'hono';
import { fleetCancelJobSchema, fleetReleaseJobSchema } from '../../../shared/schemas/jobs.js';
import type { AuthEnv } from '../auth.js';
import { HeldChangeRequests, type HeldResult } from '../fleet/held-change-requests.js';
import { validated } from '../validate.js';
import type { Api } from './context.js';

// `by` may be left out: the credential says who (see actor.ts).
const releaseBodySchema = fleetReleaseJobSchema.omit({ fleetId: true }).partial({ by: true });
const cancelBodySchema = fleetCancelJobSchema.omit({ fleetId: true }).partial({ by: true });

/**
 * /api/incidents/:id/release and /cancel-held: a human releases the changes an open fleet incident
 * holds in one region, or cancels them all (fleet/held-change-requests.ts). Registered before the incident
 * commands, whose `:command` would answer these paths 404.
 */
export function fleetRoutes(app: Hono<AuthEnv>, api: Api): void {
  const held = new HeldChangeRequests(api.deps);
  const reply = <T extends object>(c: Context<AuthEnv>, result: HeldResult<T>, by: string) =>
    result.ok ? c.json({ ...result.value, by }) : c.json({ error: result.error }, result.status);

  app.post(
    '/incidents/:id/release',
    api.approver,
    validated('json', releaseBodySchema, 'invalid body'),
    async (c) => {
      const body = c.req.valid('json');
      const by = api.actor(c, body.by);
      if (by instanceof Response) return by;
      return reply(c, await held.release(c.req.param('id'), body.region, by), by);
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
      return reply(c, await held.cancel(c.req.param('id'), by, body.reason), by);
    },
  );
}
