import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import { alertmanagerWebhookSchema } from '../../shared/schemas/alertmanager.js';
import { bearerToken, matcher } from './auth.js';
import { readBody } from './body.js';
import type { IngestEnv } from './env.js';
import type { Intake } from './intake.js';
import { crossSiteRefusal, isLoopback } from './request-origin.js';
import { failureReply } from './storage-errors.js';

export const WEBHOOK_PATH = '/webhooks/alertmanager';

export interface WebhookDeps {
  env: Pick<IngestEnv, 'INGEST_TOKEN' | 'MAX_BODY_BYTES'>;
  intake: Intake;
  metrics: Metrics;
  logger: Logger;
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
  const { env, intake, metrics, logger } = deps;
  const tokenMatches = env.INGEST_TOKEN ? matcher(env.INGEST_TOKEN) : undefined;

  const answer = async (req: IncomingMessage): Promise<Reply> => {
    const crossSite = crossSiteRefusal(req.headers);
    if (crossSite) return { status: 403, body: { error: crossSite } };
    if (!tokenMatches && !isLoopback(req.socket.remoteAddress))
      return { status: 401, body: { error: 'INGEST_TOKEN is not set: only this machine may post alerts' } };
    if (tokenMatches) {
      const presented = bearerToken(req.headers.authorization ?? '');
      if (presented === undefined || !tokenMatches(presented)) {
        return { status: 401, body: { error: 'unauthorized' } };
      }
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
        metrics.httpDuration.observe(
          { method: 'POST', route: WEBHOOK_PATH, status: String(status) },
          Number(process.hrtime.bigint() - started) / 1e9,
        );
      });
  };
}
