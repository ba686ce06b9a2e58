/** A reply of ingest's HTTP API: its status and its JSON body. */
export interface ApiReply {
  status: number;
  body: unknown;
}

/**
 * One call of ingest's HTTP API with the MCP client's own credential: every MCP tool is answered by
 * the API's routes (their authentication, roles, `by` rule, validation and decisions), in process
 * over `/mcp` and over HTTP for `hermes mcp`.
 */
export type ApiCall = (method: 'GET' | 'POST', path: string, body?: unknown) => Promise<ApiReply>;

/** The API's one-line error of a refused call. */
export function apiError(reply: ApiReply): string {
  const error = (reply.body as { error?: unknown } | null)?.error;
  return typeof error === 'string' ? error : `the API answered ${reply.status}`;
}

/** An ApiCall over HTTP, to the ingest at `baseUrl`, with `token` as the bearer credential. */
export function httpApi(baseUrl: string, token: string | undefined): ApiCall {
  return async (method, path, body) => {
    const res = await fetch(new URL(path, baseUrl), {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return replyOf(res, baseUrl);
  };
}

/** An API response as an ApiReply; an answer that is not JSON is said as an error. */
export async function replyOf(res: Response, from: string): Promise<ApiReply> {
  const text = await res.text();
  try {
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  } catch {
    return {
      status: res.status,
      body: { error: `${from} did not answer JSON (${res.status}); is it Hermes ingest?` },
    };
  }
}
