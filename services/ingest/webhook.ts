import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import { alertmanagerWebhookSchema } from '../../shared/schemas/alertmanager.js';
import { matcher, presentedToken } from './auth.js';
import { readBody } from './body.js';
import type { IngestEnv } from './env.js';
import type { Intake } from './intake.js';
import type { RefusalLog, RefusalReason } from './refusal-log.js';
import { crossSiteRefusal, isLoopback, loopbackHostRefusal } from './request-origin.js';
import { observeRequest } from './security.js';
import { failureReply } from './storage-errors.js';

export const WEBHOOK_PATH = '/webhooks/alertmanager';

export interface WebhookDeps {
  env: Pick<IngestEnv, 'INGEST_TOKEN' | 'MAX_BODY_BYTES'>;
  intake: Intake;
  metrics: Metrics;
  logger: Logger;
  refusals: RefusalLog;
}

interface Reply {
  status: number;
  body: object;
}

/** Whether a request is for the webhook handler rather than the Hono app. */
export function isWebhookRequest(req: IncomingMessage): boolean {
  if (req.method !== 'POST' || !req.url?.startsWith(WEBHOOK_PATH)) return false;
  const rest = req.url.slice(WEBHOOK_PATH.length);
  return rest === '' || rest.startsWith('?');
}

/**
 * POST /webhooks/alertmanager on Node's own request and response. It is the route alert storms hit,
 * and adapting each request to web Request/Response objects (what the Hono app does) cost about a
 * quarter of ingest's CPU per webhook, so the server hands this route to this handler directly.
 */
export function createWebhookHandler(deps: WebhookDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { env, intake, metrics, logger, refusals } = deps;
  const tokenMatches = env.INGEST_TOKEN ? matcher(env.INGEST_TOKEN) : undefined;

  const answer = async (req: IncomingMessage): Promise<Reply> => {
    const refuse = (reason: RefusalReason, status: number, error: string): Reply => {
      refusals.refused(reason, req.socket.remoteAddress, { status, method: 'POST', path: WEBHOOK_PATH });
      return { status, body: { error } };
    };
    const crossSite = crossSiteRefusal(req.headers);
    if (crossSite) return refuse('cross-site', 403, crossSite);
    if (!tokenMatches) {
      const host = loopbackHostRefusal(req.headers.host);
      if (host) return refuse('bad Host', 421, host);
      if (!isLoopback(req.socket.remoteAddress))
        return refuse('not this machine', 401, 'INGEST_TOKEN is not set: only this machine may post alerts');
    } else {
      const header = req.headers.authorization;
      if (header === undefined) return refuse('missing token', 401, 'unauthorized');
      const presented = presentedToken(header, false);
      if (presented === undefined) return refuse('malformed Authorization header', 401, 'unauthorized');
      if (!tokenMatches(presented)) return refuse('wrong token', 401, 'unauthorized');
    }
    const text = await readBody(req, env.MAX_BODY_BYTES);
    if (text === null) {
      return {
        status: 413,
        body: { error: `body larger than MAX_BODY_BYTES (${env.MAX_BODY_BYTES} bytes)` },
      };
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      metrics.alertsReceived.inc({ result: 'rejected' });
      return { status: 400, body: { error: 'body is not valid JSON', details: (error as Error).message } };
    }
    const parsed = alertmanagerWebhookSchema.safeParse(body);
    if (!parsed.success) {
      const alerts = (body as { alerts?: unknown })?.alerts;
      metrics.alertsReceived.inc(
        { result: 'rejected' },
        Array.isArray(alerts) ? Math.max(alerts.length, 1) : 1,
      );
      return {
        status: 400,
        body: { error: 'invalid Alertmanager webhook body', details: parsed.error.issues },
      };
    }
    const result = await intake.ingest(parsed.data);
    metrics.alertsReceived.inc({ result: 'accepted' }, result.accepted);
    metrics.alertsReceived.inc({ result: 'duplicate' }, result.duplicates);
    return {
      status: 202,
      body: { accepted: result.accepted, duplicates: result.duplicates, incidents: result.incidents },
    };
  };

  return (req, res) => {
    const started = process.hrtime.bigint();
    answer(req)
      .catch((error: Error) => failureReply(error, logger, WEBHOOK_PATH))
      .then(({ status, body }) => {
        const json = JSON.stringify(body);
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(json),
        });
        res.end(json);
        observeRequest(metrics, { method: 'POST', route: WEBHOOK_PATH, status }, started);
      });
  };
}
