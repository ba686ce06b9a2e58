import type { Context, Hono, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Metrics } from '../../shared/metrics.js';
import { type AdminGate, refuse } from './auth.js';
import { crossSiteRefusal, SAFE_METHODS } from './request-origin.js';

const API_BODY_BYTES = 1024 * 1024;
const LOGIN_BODY_BYTES = 16 * 1024;

// The unread rest of the body is still on the wire: the connection cannot be reused.
const tooLarge = (c: Context) => {
  c.header('connection', 'close');
  return c.json({ error: 'request body too large' }, 413);
};

/** Records one answered request in `hermes_http_request_duration_seconds` (webhook and Hono apps alike). */
export function observeRequest(
  metrics: Metrics,
  request: { method: string; route: string; status: number },
  started: bigint,
): void {
  metrics.httpDuration.observe(
    { method: request.method, route: request.route, status: String(request.status) },
    Number(process.hrtime.bigint() - started) / 1e9,
  );
}

/**
 * Not Hono's `csrf`: it checks only form-encoded bodies and refuses a form without Origin or
 * Sec-Fetch-Site (Slack's signed posts, scripts), answering a bare 403 that is not logged. This
 * refuses every cross-site write, whatever its body, logged as a refusal, and lets through clients
 * that name no site at all (the CLI, curl, Slack).
 */
function sameSiteWrites(gate: AdminGate): MiddlewareHandler {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next();
    const refusal = crossSiteRefusal({
      'sec-fetch-site': c.req.header('sec-fetch-site'),
      origin: c.req.header('origin'),
      host: c.req.header('host'),
    });
    return refusal ? refuse(gate, c, 'cross-site', 403, refusal) : next();
  };
}

function timed(metrics: Metrics): MiddlewareHandler {
  return async (c, next) => {
    const started = process.hrtime.bigint();
    await next();
    observeRequest(metrics, { method: c.req.method, route: c.req.routePath, status: c.res.status }, started);
  };
}

/**
 * What every request to the API, the console, Slack's endpoint and Bull Board passes before its
 * route: writes only from this site, bounded bodies, timed. (The webhook has its own MAX_BODY_BYTES
 * path: webhook.ts.) Who may do what is each route's `requireRole` (auth.ts).
 */
export function secureRequests(app: Hono, gate: AdminGate, metrics: Metrics): void {
  // 1 MiB for the API and Slack, 16 KiB for the console's unauthenticated sign-in, before anything reads it.
  app.use('/ui/login', bodyLimit({ maxSize: LOGIN_BODY_BYTES, onError: tooLarge }));
  // A web page the operator has open must not write here, token or not.
  app.use('*', sameSiteWrites(gate));
  app.use('*', bodyLimit({ maxSize: API_BODY_BYTES, onError: tooLarge }));
  app.use('*', timed(metrics));
}
