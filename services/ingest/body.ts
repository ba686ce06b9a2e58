import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

/**
 * The request body as text, or null when it is larger than `maxBytes`.
 *
 * Served by @hono/node-server, it reads Node's request directly: building the web Request and
 * its stream costs more per webhook than parsing the alerts in it. Elsewhere (`app.request` in
 * tests) it reads the standard Request.
 */
export async function readBody(c: Context, maxBytes: number): Promise<string | null> {
  if (Number(c.req.header('content-length')) > maxBytes) return null;
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming) {
    const body = Buffer.from(await c.req.arrayBuffer());
    return body.length > maxBytes ? null : body.toString('utf8');
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    incoming.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit the rest is read and dropped, so the 413 still reaches the client.
      if (size <= maxBytes) chunks.push(chunk);
    });
    incoming.once('end', () =>
      resolve(size > maxBytes ? null : Buffer.concat(chunks, size).toString('utf8')),
    );
    incoming.once('error', reject);
  });
}
