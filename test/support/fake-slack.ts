import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { signSlackRequest } from '../../shared/slack-signature.js';
import { listenLocally } from './http.js';

/**
 * A loopback Slack speaking the documented wire formats of an incoming webhook (200 `ok` text, 4xx/5xx
 * text errors, 429 + Retry-After) and Web API `chat.postMessage` (HTTP 200 `{ok:true, ts, channel}` or
 * `{ok:false, error}`, 429 + Retry-After) and `chat.update` (of a message it posted, by channel and
 * ts). Every request is recorded; failures are scripted.
 */
export interface SlackRequest {
  kind: 'webhook' | 'postMessage' | 'update';
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  // biome-ignore lint/suspicious/noExplicitAny: recorded third-party JSON, inspected by tests
  body: any;
  /** True when the fake answered success, i.e. a message was posted. */
  delivered: boolean;
  /** The ts of the posted message (chat.postMessage only). */
  ts?: string;
}

/** One scripted answer, used for the next request to either endpoint. */
export type SlackScript =
  | { status: 429; retryAfterSeconds?: number }
  | { status: number; text?: string }
  | { okFalse: string }
  /** Answer normally, but only after this long (to catch a request in flight). */
  | { delayMs: number };

export interface FakeSlack {
  baseUrl: string;
  webhookUrl: string;
  /** Value for SLACK_API_URL. */
  apiUrl: string;
  token: string;
  channel: string;
  requests: SlackRequest[];
  /** Requests that posted a message. */
  posted(): SlackRequest[];
  /** chat.update requests that edited a message. */
  updated(): SlackRequest[];
  script(...answers: SlackScript[]): void;
  close(): Promise<void>;
}

const WEBHOOK_PATH = '/services/T0000000/B0000000/XXXXXXXXXXXXXXXXXXXXXXXX';

export async function startFakeSlack(options: { token?: string; channel?: string } = {}): Promise<FakeSlack> {
  const token = options.token ?? 'xoxb-test-token';
  const channel = options.channel ?? 'C0123456789';
  const requests: SlackRequest[] = [];
  const scripted: SlackScript[] = [];
  let counter = 0;

  const server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const kind =
      req.url === WEBHOOK_PATH
        ? 'webhook'
        : req.url === '/api/chat.postMessage'
          ? 'postMessage'
          : req.url === '/api/chat.update'
            ? 'update'
            : null;
    if (req.method !== 'POST' || !kind) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not_found');
      return;
    }
    const record: SlackRequest = { kind, headers: req.headers, raw, body: parseJson(raw), delivered: false };
    requests.push(record);
    let answer = scripted.shift();
    if (answer && 'delayMs' in answer) {
      await new Promise((resolve) => setTimeout(resolve, (answer as { delayMs: number }).delayMs));
      answer = undefined;
    }
    if (answer && 'okFalse' in answer) return json(res, 200, { ok: false, error: answer.okFalse });
    if (answer?.status === 429) {
      const seconds = 'retryAfterSeconds' in answer ? (answer.retryAfterSeconds ?? 1) : 1;
      if (kind === 'webhook') {
        res
          .writeHead(429, { 'retry-after': String(seconds), 'content-type': 'text/plain' })
          .end('rate_limited');
      } else {
        res.writeHead(429, { 'retry-after': String(seconds), 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
      }
      return;
    }
    if (answer) {
      const text = 'text' in answer && answer.text ? answer.text : 'internal_error';
      res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(text);
      return;
    }
    if (kind === 'webhook') {
      const error = validateMessage(record.body);
      if (error) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(error);
        return;
      }
      record.delivered = true;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const auth = req.headers.authorization;
    if (!auth) return json(res, 200, { ok: false, error: 'not_authed' });
    if (auth !== `Bearer ${token}`) return json(res, 200, { ok: false, error: 'invalid_auth' });
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return json(res, 200, { ok: false, error: 'invalid_arguments' });
    }
    if (record.body?.channel !== channel) return json(res, 200, { ok: false, error: 'channel_not_found' });
    const error = validateMessage(record.body);
    if (error) return json(res, 200, { ok: false, error });
    if (kind === 'update') {
      // chat.update edits a message this channel holds, named by its ts.
      const original = requests.find((r) => r.kind === 'postMessage' && r.ts === record.body.ts);
      if (!original) return json(res, 200, { ok: false, error: 'message_not_found' });
      record.delivered = true;
      return json(res, 200, { ok: true, channel, ts: record.body.ts, text: record.body.text });
    }
    counter += 1;
    const ts = `${1_700_000_000 + counter}.000100`;
    record.delivered = true;
    record.ts = ts;
    return json(res, 200, {
      ok: true,
      channel,
      ts,
      message: { type: 'message', text: record.body.text, ts, thread_ts: record.body.thread_ts },
    });
  });
  const { url: baseUrl, close } = await listenLocally(server);
  return {
    baseUrl,
    webhookUrl: `${baseUrl}${WEBHOOK_PATH}`,
    apiUrl: `${baseUrl}/api`,
    token,
    channel,
    requests,
    posted: () => requests.filter((r) => r.delivered && r.kind !== 'update'),
    updated: () => requests.filter((r) => r.delivered && r.kind === 'update'),
    script: (...answers) => {
      scripted.push(...answers);
    },
    close,
  };
}

/** Slack's answers for a message without content or with malformed blocks. */
function validateMessage(body: unknown): string | null {
  if (!body || typeof body !== 'object') return 'invalid_payload';
  const message = body as { text?: unknown; blocks?: unknown };
  if (message.blocks !== undefined && !Array.isArray(message.blocks)) return 'invalid_blocks';
  if (!message.text && !(Array.isArray(message.blocks) && message.blocks.length > 0)) return 'no_text';
  return null;
}

/**
 * A signed `block_actions` request as Slack sends it to an interactivity URL when someone clicks
 * Approve or Deny on an approval message.
 */
export function slackInteractionRequest(input: {
  signingSecret: string;
  approvalId: string;
  action: 'approve' | 'deny';
  user?: { id: string; username?: string };
  timestamp?: number;
}): { body: string; headers: Record<string, string> } {
  const payload = {
    type: 'block_actions',
    user: input.user ?? { id: 'U0123ABCD', username: 'oncall' },
    actions: [{ type: 'button', action_id: input.action, block_id: 'approval', value: input.approvalId }],
    response_url: 'https://hooks.slack.com/actions/T0000000/1/xyz',
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(input.timestamp ?? Math.floor(Date.now() / 1000));
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': signSlackRequest(input.signingSecret, timestamp, body),
    },
  };
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
