import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenLocally } from './http.js';

/** What the fake receives on POST /v1/chat/completions (the fields tests look at). */
export interface ChatRequest {
  model: string;
  temperature?: number;
  tools?: { type: string; function: { name: string; parameters: unknown } }[];
  messages: { role: string; content?: unknown; tool_calls?: unknown[]; tool_call_id?: string }[];
}

/** One model turn: an answer (native tool calls and/or text), an HTTP error, or a delayed turn. */
export type Turn =
  | { kind: 'answer'; content: string | null; toolCalls: { name: string; arguments: string }[] }
  | { kind: 'http_error'; status: number; body: unknown; headers?: Record<string, string> }
  | { kind: 'delay'; ms: number; then: Turn };

export type Behaviour = (request: ChatRequest, turn: number) => Turn | Promise<Turn>;

/** A native `tool_calls` call; args may be an object or a raw (possibly broken) string. */
export function call(name: string, args: Record<string, unknown> | string = {}): Turn {
  return calls([name, args]);
}

export function calls(...list: [string, Record<string, unknown> | string][]): Turn {
  return {
    kind: 'answer',
    content: null,
    toolCalls: list.map(([name, args]) => ({
      name,
      arguments: typeof args === 'string' ? args : JSON.stringify(args),
    })),
  };
}

export function text(content: string): Turn {
  return { kind: 'answer', content, toolCalls: [] };
}

/** Hermes-style tool call written into the message text instead of `tool_calls`. */
export function hermesText(name: string, args: Record<string, unknown>, prose = 'Let me check.'): Turn {
  return text(`${prose}\n<tool_call>\n${JSON.stringify({ name, arguments: args })}\n</tool_call>`);
}

export function httpError(
  status: number,
  message = 'model exploded',
  headers?: Record<string, string>,
): Turn {
  return {
    kind: 'http_error',
    status,
    body: { error: { message, type: 'server_error' } },
    ...(headers ? { headers } : {}),
  };
}

export function delayed(ms: number, then: Turn): Turn {
  return { kind: 'delay', ms, then };
}

/**
 * Plays `turns` in order for each conversation. The turn number is the count of assistant messages
 * already in the request, so concurrent conversations each get their own script; past the end the
 * model says it is done.
 */
export function script(turns: Turn[]): Behaviour {
  return (_request, turn) => turns[turn] ?? text('Done.');
}

/** Picks a script per conversation by the alertname in the first user message. */
export function byAlert(scripts: Record<string, Turn[]>, fallback: Turn[] = [text('Done.')]): Behaviour {
  return (request, turn) => {
    const user = request.messages.find((m) => m.role === 'user');
    const content = typeof user?.content === 'string' ? user.content : '';
    const match = Object.keys(scripts).find((name) => content.includes(`"alertname": "${name}"`));
    const turns = match ? (scripts[match] as Turn[]) : fallback;
    return turns[turn] ?? text('Done.');
  };
}

export interface FakeOpenAI {
  /** Base URL for the `openai` client, ending in /v1. */
  url: string;
  requests: ChatRequest[];
  behaviour: Behaviour;
  /** When true every request (models list included) gets a 503. */
  down: boolean;
  close(): Promise<void>;
}

/** A real HTTP server on a free loopback port speaking the OpenAI chat-completions wire format. */
export async function startFakeOpenAI(behaviour: Behaviour): Promise<FakeOpenAI> {
  const fake: FakeOpenAI = {
    url: '',
    requests: [],
    behaviour,
    down: false,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    void handle(fake, req, res).catch((error: Error) =>
      send(res, 500, { error: { message: error.message } }),
    );
  });
  const listening = await listenLocally(server);
  fake.url = `${listening.url}/v1`;
  fake.close = listening.close;
  return fake;
}

async function handle(fake: FakeOpenAI, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (fake.down) return send(res, 503, { error: { message: 'model server unavailable' } });
  if (req.method === 'GET' && req.url === '/v1/models') {
    return send(res, 200, {
      object: 'list',
      data: [{ id: 'fake-hermes', object: 'model', created: 0, owned_by: 'test' }],
    });
  }
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions')
    return send(res, 404, { error: { message: 'not found' } });
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest;
  fake.requests.push(request);
  const turnNumber = request.messages.filter((m) => m.role === 'assistant').length;
  let turn = await fake.behaviour(request, turnNumber);
  while (turn.kind === 'delay') {
    const { ms, then } = turn;
    await new Promise((resolve) => setTimeout(resolve, ms));
    // Not req.destroyed: Node sets it once the request body has been read, long before the client leaves.
    if (res.destroyed || req.socket.destroyed) return;
    turn = then;
  }
  if (turn.kind === 'http_error') return send(res, turn.status, turn.body, turn.headers);
  const promptTokens = Math.ceil(JSON.stringify(request.messages).length / 4);
  const completionTokens = Math.ceil(JSON.stringify(turn).length / 4);
  send(res, 200, {
    id: `chatcmpl-${randomBytes(6).toString('hex')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: [
      {
        index: 0,
        finish_reason: turn.toolCalls.length > 0 ? 'tool_calls' : 'stop',
        message: {
          role: 'assistant',
          content: turn.content,
          ...(turn.toolCalls.length > 0
            ? {
                tool_calls: turn.toolCalls.map((tc) => ({
                  id: `call_${randomBytes(6).toString('hex')}`,
                  type: 'function',
                  function: { name: tc.name, arguments: tc.arguments },
                })),
              }
            : {}),
        },
      },
    ],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
