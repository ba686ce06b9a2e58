/**
 * What the webhook costs before anything is stored: Hono on @hono/node-server, the body read, JSON.parse
 * and the zod schema, then 202. Ingest cannot go faster than this on the same machine.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { readBody } from '../services/ingest/body.js';
import { alertmanagerWebhookSchema } from '../shared/schemas/alertmanager.js';

const app = new Hono();
app.post('/webhooks/alertmanager', async (c) => {
  const text = await readBody(c, 4 * 1024 * 1024);
  if (text === null) return c.json({ error: 'too large' }, 413);
  const parsed = alertmanagerWebhookSchema.safeParse(JSON.parse(text));
  if (!parsed.success) return c.json({ error: 'invalid' }, 400);
  return c.json({ accepted: parsed.data.alerts.length, duplicates: 0, incidents: [] }, 202);
});
app.get('/readyz', (c) => c.text('ok'));
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
