import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** One registry per process, with the metric names that are part of the contract. */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    alertsReceived: new Counter({
      name: 'hermes_alerts_received_total',
      help: 'Alerts received by ingest, by result (accepted, duplicate, rejected)',
      labelNames: ['result'],
      registers,
    }),
    incidentsOpened: new Counter({
      name: 'hermes_incidents_opened_total',
      help: 'Incidents opened, by automation level',
      labelNames: ['level'],
      registers,
    }),
    actions: new Counter({
      name: 'hermes_actions_total',
      help: 'Actions decided by the executor, by tool and decision',
      labelNames: ['tool', 'decision'],
      registers,
    }),
    notifications: new Counter({
      name: 'hermes_notifications_total',
      help: 'Notification deliveries, by channel and result',
      labelNames: ['channel', 'result'],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'hermes_queue_depth',
      help: 'Jobs waiting in each queue',
      labelNames: ['queue'],
      registers,
    }),
    llmRequests: new Counter({
      name: 'hermes_llm_requests_total',
      help: 'Requests to the model endpoint, by result',
      labelNames: ['result'],
      registers,
    }),
    llmTokens: new Counter({
      name: 'hermes_llm_tokens_total',
      help: 'Model tokens used, by kind (prompt, completion)',
      labelNames: ['kind'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'hermes_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    intakeScriptDuration: new Histogram({
      name: 'hermes_ingest_intake_script_duration_seconds',
      help: "From sending a webhook's intake script to Redis until ingest handles its reply (Redis' fsync included)",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** Workers serve /metrics on METRICS_PORT (0 = off). */
export async function serveMetrics(registry: Registry, port: number): Promise<Server | undefined> {
  if (!port) return undefined;
  const server = createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(await registry.metrics());
    } else if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, resolve));
  return server;
}
