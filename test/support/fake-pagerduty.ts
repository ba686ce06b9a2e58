import { createServer } from 'node:http';
import { json, parseJson, readBody } from './fake-slack.js';
import { listenLocally } from './http.js';

/**
 * A loopback PagerDuty Events API v2 (`POST /v2/enqueue`): 202 `{status:'success', message, dedup_key}`,
 * 400 `{status:'invalid event', message, errors}` for events that break the documented rules, 429 when
 * scripted. It also tracks each dedup_key's alert state, as PagerDuty would.
 */
export interface PagerDutyRequest {
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: recorded third-party JSON, inspected by tests
  body: any;
  status: number;
}

export type PagerDutyScript = { status: 429 } | { status: 400 | 500 | 502 | 503 };

export interface FakePagerDuty {
  /** Value for PAGERDUTY_EVENTS_URL. */
  eventsUrl: string;
  routingKey: string;
  requests: PagerDutyRequest[];
  /** Requests answered 202. */
  accepted(): PagerDutyRequest[];
  /** dedup_key → 'triggered' | 'acknowledged' | 'resolved'. */
  alerts: Map<string, 'triggered' | 'acknowledged' | 'resolved'>;
  script(...answers: PagerDutyScript[]): void;
  close(): Promise<void>;
}

const SEVERITIES = ['critical', 'error', 'warning', 'info'];
const ACTIONS = { trigger: 'triggered', acknowledge: 'acknowledged', resolve: 'resolved' } as const;

export async function startFakePagerDuty(options: { routingKey?: string } = {}): Promise<FakePagerDuty> {
  const routingKey = options.routingKey ?? 'R0123456789abcdef0123456789abcd';
  const requests: PagerDutyRequest[] = [];
  const alerts = new Map<string, 'triggered' | 'acknowledged' | 'resolved'>();
  const scripted: PagerDutyScript[] = [];
  let generated = 0;

  const server = createServer(async (req, res) => {
    const raw = await readBody(req);
    if (req.method !== 'POST' || req.url !== '/v2/enqueue') {
      return json(res, 404, { status: 'not found', message: 'Not Found' });
    }
    const body = parseJson(raw) as Record<string, unknown> | undefined;
    const record: PagerDutyRequest = { headers: req.headers, body, status: 0 };
    requests.push(record);
    const answer = scripted.shift();
    if (answer?.status === 429) {
      record.status = 429;
      return json(res, 429, {
        status: 'throttle event',
        message: 'Requests for this service are arriving too quickly.',
      });
    }
    if (answer && answer.status >= 500) {
      record.status = answer.status;
      return json(res, answer.status, { status: 'error', message: 'Internal Server Error' });
    }
    const errors = answer?.status === 400 ? ['Scripted rejection'] : validate(body, routingKey);
    if (errors.length > 0) {
      record.status = 400;
      return json(res, 400, { status: 'invalid event', message: 'Event object is invalid', errors });
    }
    const event = body as { event_action: keyof typeof ACTIONS; dedup_key?: string };
    generated += 1;
    const dedupKey = event.dedup_key ?? `generated-${generated}`;
    alerts.set(dedupKey, ACTIONS[event.event_action]);
    record.status = 202;
    return json(res, 202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
  });
  const { url: base, close } = await listenLocally(server);
  return {
    eventsUrl: `${base}/v2/enqueue`,
    routingKey,
    requests,
    accepted: () => requests.filter((r) => r.status === 202),
    alerts,
    script: (...answers) => {
      scripted.push(...answers);
    },
    close,
  };
}

/** The Events API v2 rules for a well-formed event. */
function validate(body: Record<string, unknown> | undefined, routingKey: string): string[] {
  if (!body) return ['Event object is not valid JSON'];
  const errors: string[] = [];
  if (body.routing_key !== routingKey) errors.push("'routing_key' is invalid");
  const action = body.event_action;
  if (typeof action !== 'string' || !(action in ACTIONS)) errors.push("'event_action' is invalid");
  const dedupKey = body.dedup_key;
  if (dedupKey !== undefined && (typeof dedupKey !== 'string' || dedupKey.length > 255)) {
    errors.push("'dedup_key' must be a string of at most 255 characters");
  }
  if (action !== 'trigger') {
    if (typeof dedupKey !== 'string') errors.push("'dedup_key' is required for acknowledge and resolve");
    return errors;
  }
  const payload = body.payload as Record<string, unknown> | undefined;
  if (!payload || typeof payload !== 'object') return [...errors, "'payload' is missing or invalid"];
  if (typeof payload.summary !== 'string' || payload.summary.length === 0 || payload.summary.length > 1024) {
    errors.push("'payload.summary' must be 1-1024 characters");
  }
  if (typeof payload.source !== 'string' || payload.source.length === 0)
    errors.push("'payload.source' is missing");
  if (typeof payload.severity !== 'string' || !SEVERITIES.includes(payload.severity)) {
    errors.push("'payload.severity' is invalid (expected critical, error, warning or info)");
  }
  return errors;
}
