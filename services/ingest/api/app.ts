import { Hono } from 'hono';
import type { AuthEnv } from '../auth.js';
import { approvalRoutes } from './approvals.js';
import { auditRoutes } from './audit.js';
import { automationRoutes } from './automation.js';
import { type ApiDeps, apiContext } from './context.js';
import { fleetRoutes } from './fleets.js';
import { incidentRoutes } from './incidents.js';
import { outcomeRoutes } from './outcomes.js';
import { policyProposalRoutes } from './policy-proposals.js';
import { proposalRoutes } from './proposals.js';

/** The JSON API, mounted at /api by ingest: each route checks its caller's role (auth.ts). */
export function createApiApp(deps: ApiDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const api = apiContext(deps);
  fleetRoutes(app, api);
  incidentRoutes(app, api);
  approvalRoutes(app, api);
  automationRoutes(app, api);
  auditRoutes(app, api);
  proposalRoutes(app, api);
  outcomeRoutes(app, api);
  policyProposalRoutes(app, api);
  return app;
}
