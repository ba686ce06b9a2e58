import { createServer, type Server } from 'node:http';
import { listenLocally } from './http.js';

export type Sample = { metric: Record<string, string>; value: number };

/**
 * A tiny Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`) answering in the real response
 * format. `series(query)` decides what each query returns; unknown queries return no series.
 */
export interface FakePrometheus {
  url: string;
  queries: string[];
  series: (query: string) => Sample[];
  close(): Promise<void>;
}

export async function startFakePrometheus(
  series: (query: string) => Sample[] = () => [],
): Promise<FakePrometheus> {
  const fake: FakePrometheus = { url: '', queries: [], series, close: async () => {} };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const params =
      req.method === 'POST' ? new URLSearchParams(Buffer.concat(chunks).toString('utf8')) : url.searchParams;
    const query = params.get('query');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!query) return reply(400, { status: 'error', errorType: 'bad_data', error: 'missing query' });
    fake.queries.push(query);
    const now = Date.now() / 1000;
    const found = fake.series(query);
    if (url.pathname === '/api/v1/query') {
      return reply(200, {
        status: 'success',
        data: {
          resultType: 'vector',
          result: found.map((s) => ({ metric: s.metric, value: [now, String(s.value)] })),
        },
      });
    }
    if (url.pathname === '/api/v1/query_range') {
      return reply(200, {
        status: 'success',
        data: {
          resultType: 'matrix',
          result: found.map((s) => ({
            metric: s.metric,
            values: [
              [now - 60, String(s.value)],
              [now, String(s.value)],
            ],
          })),
        },
      });
    }
    reply(404, { status: 'error', errorType: 'not_found', error: 'not found' });
  });
  ({ url: fake.url, close: fake.close } = await listenLocally(server));
  return fake;
}
