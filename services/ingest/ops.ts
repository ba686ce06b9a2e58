import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import type { Hono } from 'hono';
import type { Metrics } from '../../shared/metrics.js';
import type { RedisConnection } from '../../shared/redis.js';
import { type AdminGate, requireRole } from './auth.js';
import { updateQueueDepth } from './queue-depths.js';
import { SAFE_METHODS } from './request-origin.js';

export interface OpsDeps {
  gate: AdminGate;
  redis: RedisConnection;
  queues: Queue[];
  metrics: Metrics;
}

/** What operators' tools read: health and readiness, Prometheus metrics, and Bull Board at /admin/queues. */
export function opsRoutes(app: Hono, deps: OpsDeps): void {
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    try {
      await deps.redis.ping();
      return c.json({ ok: true });
    } catch (error) {
      return c.json({ ok: false, error: (error as Error).message }, 503);
    }
  });
  app.get('/metrics', async (c) => {
    await updateQueueDepth(deps.queues, deps.metrics).catch(() => undefined);
    const { registry } = deps.metrics;
    return c.text(await registry.metrics(), 200, { 'content-type': registry.contentType });
  });

  const board = new HonoAdapter(serveStatic);
  createBullBoard({ queues: deps.queues.map((q) => new BullMQAdapter(q)), serverAdapter: board });
  board.setBasePath('/admin/queues');
  // The console's session opens Bull Board too (its writes need Basic auth: they carry no CSRF token).
  // Looking needs a viewer; retrying, cleaning and the like an operator.
  const queueBoard = requireRole(deps.gate, (method) => (SAFE_METHODS.has(method) ? 'viewer' : 'operator'), {
    allowBasic: true,
    allowSession: true,
  });
  app.use('/admin/queues', queueBoard);
  app.use('/admin/queues/*', queueBoard);
  app.route('/admin/queues', board.registerPlugin());
}
