import type { Hono } from 'hono';
import { z } from 'zod';
import { outcomeFilterSchema, summarize } from '../../../shared/outcomes.js';
import type { AuthEnv } from '../auth.js';
import { validated } from '../validate.js';
import type { Api } from './context.js';

const text = z.string().min(1).max(200);
const outcomesQuerySchema = z.strictObject({
  alertname: text.optional(),
  resource: text.optional(),
  target: text.optional(),
  tool: text.optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
});

/** /api/outcomes: fixes' verdicts, filtered, newest first, with totals per verdict and median time to recover. */
export function outcomeRoutes(app: Hono<AuthEnv>, api: Api): void {
  app.get('/outcomes', api.viewer, validated('query', outcomesQuerySchema, 'invalid query'), async (c) => {
    const { limit, ...query } = c.req.valid('query');
    const outcomes = await api.outcomes.list(outcomeFilterSchema.parse(query));
    return c.json({ ...summarize(outcomes), outcomes: outcomes.reverse().slice(0, limit) });
  });
}
