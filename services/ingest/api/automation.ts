import type { Hono } from 'hono';
import { z } from 'zod';
import { approvalDecisionBodySchema } from '../../../shared/schemas/approval.js';
import { breakerResetJobSchema } from '../../../shared/schemas/jobs.js';
import { actingName } from '../actor.js';
import type { AuthEnv } from '../auth.js';
import type { Principal } from '../credentials.js';
import { requestBreakerReset } from '../executor-requests.js';
import { queueDepths } from '../queue-depths.js';
import { validated } from '../validate.js';
import type { Api } from './context.js';

// `by` may be left out: the credential says who (see actor.ts).
const pauseBodySchema = z.object({ by: approvalDecisionBodySchema.shape.by.optional() });
const breakerResetBodySchema = breakerResetJobSchema.partial({ by: true });

/** /api/automation: the kill switch, the executor's breaker and the queues, read and changed. */
export function automationRoutes(app: Hono<AuthEnv>, api: Api): void {
  const { deps } = api;
  const automation = async () => {
    const [{ paused, mode, breaker, config }, queues] = await Promise.all([
      api.status.read(),
      queueDepths(deps.queues),
    ]);
    return { ...paused, mode: mode?.mode ?? null, breaker, queues, config };
  };
  app.get('/automation', api.viewer, async (c) => c.json(await automation()));
  app.post(
    '/automation/breaker/reset',
    api.operator,
    validated('json', breakerResetBodySchema, 'invalid body'),
    async (c) => {
      const body = c.req.valid('json');
      const by = api.actor(c, body.by);
      if (by instanceof Response) return by;
      const { done } = await requestBreakerReset(deps.executor, { ...body, by });
      deps.logger.warn({ by, reason: body.reason, done }, 'circuit breaker reset requested');
      return c.json({ reset: done, resetBy: by, ...(await automation()) }, done ? 200 : 202);
    },
  );
  app.post(
    '/automation/pause',
    api.operator,
    validated('json', pauseBodySchema, 'invalid body'),
    async (c) => {
      const by = api.actor(c, c.req.valid('json').by);
      if (by instanceof Response) return by;
      await deps.control.pause(by);
      deps.logger.warn({ by }, 'automation paused');
      return c.json(await deps.control.isPaused());
    },
  );
  app.post('/automation/resume', api.operator, async (c) => {
    await deps.control.resume();
    deps.logger.warn({ by: whoResumed(c.get('principal')) }, 'automation resumed');
    return c.json(await deps.control.isPaused());
  });
}

/** Who resumed, for the log line: resuming takes no body, so no `by`. */
function whoResumed(principal: Principal): string {
  const acting = actingName(principal, undefined);
  return acting.ok ? acting.by : 'this machine (no token set)';
}
