import { type Agent, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SendResult {
  status: number;
  body: string;
}

/** One POST over a keep-alive agent; a refused or reset connection answers status 0. */
export function post(
  agent: Agent,
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<SendResult> {
  const target = new URL(url);
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.setTimeout(10_000, () => req.destroy());
    req.end(body);
  });
}

/** Starts `server` on a free loopback port: its base URL, and a close that also ends keep-alive connections. */
export async function listenLocally(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
