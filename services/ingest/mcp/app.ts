import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { type Context, Hono } from 'hono';
import type { IncidentStore } from '../../../shared/incidents.js';
import type { Logger } from '../../../shared/logger.js';
import { type AdminGate, type AuthEnv, refuse, requireRole } from '../auth.js';
import type { Principal } from '../credentials.js';
import { crossSiteRefusal } from '../request-origin.js';
import { type ApiCall, replyOf } from './api-call.js';
import { createHermesMcpServer } from './tools.js';

export interface McpAppDeps {
  gate: AdminGate;
  incidents: IncidentStore;
  logger: Logger;
  /** Ingest's own API (its `fetch`), which answers every MCP tool with the caller's credential. */
  api: (request: Request, bindings: unknown) => Response | Promise<Response>;
}

/**
 * `/mcp`, Hermes as an MCP server over Streamable HTTP (stateless: one POST, one JSON answer);
 * `propose_action` lands on the API's `/api/proposals`. Protected like the API: any credential (MCP_TOKEN
 * included) opens `/mcp`; each tool is then an API call with that same credential, which the API
 * allows or refuses as it would from anyone.
 */
export function createMcpApp(deps: McpAppDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const anyCredential = requireRole(deps.gate, 'viewer');

  // The MCP spec requires Origin to be checked on every method (DNS rebinding), reads included.
  app.use('/mcp', async (c, next) => {
    const refusal = crossSiteRefusal({
      'sec-fetch-site': c.req.header('sec-fetch-site'),
      origin: c.req.header('origin'),
      host: c.req.header('host'),
    });
    return refusal ? refuse(deps.gate, c, 'cross-site', 403, refusal) : next();
  });
  app.all('/mcp', anyCredential, async (c) => {
    if (c.req.method !== 'POST')
      return c.json({ error: 'this MCP endpoint is stateless: POST only' }, 405, { allow: 'POST' });
    const server = createHermesMcpServer(audited(inProcessApi(deps, c), c.get('principal'), deps.logger));
    const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw);
    } finally {
      await server.close();
    }
  });
  return app;
}

/** The API called in this process with the request's own credential, Host and connection. */
function inProcessApi(deps: McpAppDeps, c: Context<AuthEnv>): ApiCall {
  const host = c.req.header('host') ?? 'localhost';
  const authorization = c.req.header('authorization');
  return async (method, path, body) => {
    const headers = new Headers({ host });
    if (authorization) headers.set('authorization', authorization);
    if (body !== undefined) headers.set('content-type', 'application/json');
    const res = await deps.api(
      new Request(new URL(path, `http://${host}`), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
      c.env,
    );
    return replyOf(res, path);
  };
}

/** Every operator call through MCP is logged with the credential that made it and what it answered. */
function audited(api: ApiCall, principal: Principal, logger: Logger): ApiCall {
  return async (method, path, body) => {
    const reply = await api(method, path, body);
    if (method === 'POST')
      logger.warn(
        {
          credential: principal.name ?? (principal.breakGlass ? 'break-glass' : 'this machine'),
          by: (reply.body as { by?: unknown } | null)?.by,
          path,
          status: reply.status,
        },
        'MCP operator call',
      );
    return reply;
  };
}
