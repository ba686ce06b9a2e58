import type { IncomingMessage } from 'node:http';

/** The request body as text, or null when it is larger than `maxBytes`. */
export function readBody(incoming: IncomingMessage, maxBytes: number): Promise<string | null> {
  if (Number(incoming.headers['content-length']) > maxBytes) return Promise.resolve(null);
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
