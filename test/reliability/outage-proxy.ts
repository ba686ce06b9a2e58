import { createServer, type IncomingMessage } from 'node:http';
import { listenLocally } from '../support/http.js';

/** `up`: forward; `refuse`: drop the connection; a status: answer it (429s carry Retry-After: 1). */
export type ProxyMode = 'up' | 'refuse' | 429 | 500 | 502 | 503;

export interface OutageProxy {
  /** The proxy's base URL; paths are forwarded unchanged to the target. */
  url: string;
  mode: ProxyMode;
  /** Requests answered by the proxy itself (not forwarded), by mode. */
  refused: Record<string, number>;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Puts a third-party fake behind a switchable outage, the way a SaaS goes down and comes back. */
export async function startOutageProxy(target: string): Promise<OutageProxy> {
  const proxy: OutageProxy = { url: '', mode: 'up', refused: {}, close: async () => {} };
  const server = createServer(async (req, res) => {
    const payload = await body(req);
    const mode = proxy.mode;
    if (mode !== 'up') {
      proxy.refused[mode] = (proxy.refused[mode] ?? 0) + 1;
      if (mode === 'refuse') return void req.socket.destroy();
      res.writeHead(mode, { 'content-type': 'text/plain', ...(mode === 429 ? { 'retry-after': '1' } : {}) });
      return void res.end(mode === 429 ? 'rate_limited' : 'service unavailable');
    }
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(
        ([name]) => !['host', 'connection', 'content-length'].includes(name),
      ),
    ) as Record<string, string>;
    const answer = await fetch(`${target}${req.url ?? '/'}`, {
      method: req.method ?? 'POST',
      headers,
      body: new Uint8Array(payload),
    });
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
    res.end(Buffer.from(await answer.arrayBuffer()));
  });
  ({ url: proxy.url, close: proxy.close } = await listenLocally(server));
  return proxy;
}
