import { createServer } from 'node:http';
import { listenLocally } from '../support/http.js';

export type Garbage = 'html' | 'truncated-json' | 'wrong-shape';

const BODIES: Record<Garbage, { type: string; body: string }> = {
  html: { type: 'text/html', body: '<html><body>502 Bad Gateway (nginx)</body></html>' },
  'truncated-json': {
    type: 'application/json',
    body: '{"id":"chatcmpl-1","choices":[{"message":{"role":"assis',
  },
  'wrong-shape': { type: 'application/json', body: '{"choices":"none","usage":"lots"}' },
};

/**
 * An "OpenAI-compatible" endpoint that is up (its model list answers, so `auto` trusts it) but answers
 * every completion with a 200 that is not a completion.
 */
export async function startGarbageModel(kind: Garbage): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"object":"list","data":[{"id":"fake-hermes","object":"model","created":0,"owned_by":"t"}]}');
      return;
    }
    res.writeHead(200, { 'content-type': BODIES[kind].type });
    res.end(BODIES[kind].body);
  });
  const { url, close } = await listenLocally(server);
  return { url: `${url}/v1`, close };
}
