/**
 * What the webhook costs before anything is stored: Node's HTTP server as ingest runs it, the body
 * read, JSON.parse and the zod schema, then 202. Ingest cannot go faster than this on the same machine.
 */
import { createServer } from 'node:http';
import { readBody } from '../services/ingest/body.js';
import { alertmanagerWebhookSchema } from '../shared/schemas/alertmanager.js';

const reply = (res: import('node:http').ServerResponse, status: number, body: object) => {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
};

createServer(async (req, res) => {
  if (req.method === 'GET' && req.url === '/readyz') return reply(res, 200, { ok: true });
  const text = await readBody(req, 4 * 1024 * 1024);
  if (text === null) return reply(res, 413, { error: 'too large' });
  const parsed = alertmanagerWebhookSchema.safeParse(JSON.parse(text));
  if (!parsed.success) return reply(res, 400, { error: 'invalid' });
  reply(res, 202, { accepted: parsed.data.alerts.length, duplicates: 0, incidents: [] });
}).listen(Number(process.env.PORT), '127.0.0.1');
