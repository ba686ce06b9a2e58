import type { Hono } from 'hono';
import { z } from 'zod';
import { LearnedRules } from '../../../shared/learned-rules.js';
import { policyProposals } from '../../../shared/policy-proposals.js';
import type { AuthEnv } from '../auth.js';
import { validated } from '../validate.js';
import type { Api } from './context.js';

const noQuerySchema = z.strictObject({});

/** GET /api/policy/proposals: policy changes history supports, as diffs; a human applies them, never Hermes. */
export function policyProposalRoutes(app: Hono<AuthEnv>, api: Api): void {
  const { deps } = api;
  app.get('/policy/proposals', api.viewer, validated('query', noQuerySchema, 'invalid query'), async (c) =>
    c.json(
      await policyProposals({
        outcomes: api.outcomes,
        learned: new LearnedRules(deps.redis, deps.keys),
        policyFile: deps.env.POLICY_FILE,
      }),
    ),
  );
}
