import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Metrics } from '../../shared/metrics.js';
import { createApiApp } from './api/app.js';
import type { ApiDeps } from './api/context.js';
import { adminGate } from './auth.js';
import type { NamedUser } from './credentials.js';
import type { IngestEnv } from './env.js';
import { createMcpApp } from './mcp/app.js';
import { opsRoutes } from './ops.js';
import type { RefusalLog } from './refusal-log.js';
import { secureRequests } from './security.js';
import { failureReply } from './storage-errors.js';
import { createConsoleApp } from './ui/app.js';

export interface IngestAppDeps extends Omit<ApiDeps, 'gate' | 'env'> {
  env: IngestEnv;
  /** Named credentials (USERS_FILE). */
  users: readonly NamedUser[];
  /** Where refused requests are logged, shared with the webhook. */
  refusals: RefusalLog;
  metrics: Metrics;
  /** Mounted at /slack/interactions when SLACK_SIGNING_SECRET is set. */
  slackInteractions?: Hono;
}

/**
 * Everything ingest answers but the webhook (webhook.ts): the API at /api, the console at /ui,
 * Slack's buttons, MCP at /mcp, health, metrics and Bull Board, behind one set of checks (security.ts) and one
 * gate of credentials, guess limits and sessions (auth.ts).
 */
export function createIngestApp(deps: IngestAppDeps): Hono {
  const { env, logger } = deps;
  const app = new Hono();
  const gate = adminGate(env.ADMIN_TOKEN, deps.users, deps.redis, deps.keys, deps.refusals);
  secureRequests(app, gate, deps.metrics);

  app.onError((error, c) => {
    // Hono's own answers (malformed JSON in a validated body): said as this API says errors.
    if (error instanceof HTTPException) return c.json({ error: error.message }, error.status);
    const { status, body } = failureReply(error, logger, c.req.path);
    return c.json(body, status);
  });

  app.route('/api', createApiApp({ ...deps, gate }));
  app.route('/ui', createConsoleApp({ ...deps, gate }));
  if (deps.slackInteractions) app.route('/slack/interactions', deps.slackInteractions);
  app.route('/', createMcpApp({ ...deps, gate, api: (request, bindings) => app.fetch(request, bindings) }));
  opsRoutes(app, { ...deps, gate });
  return app;
}
