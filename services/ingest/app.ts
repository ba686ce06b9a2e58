import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import type { ApprovalDecisions } from '../../shared/approval-decisions.js';
import { type ApprovalStore, closedApprovalReason } from '../../shared/approvals.js';
import { auditPositions } from '../../shared/audit-chain.js';
import type { AutomationControl } from '../../shared/control.js';
import type { PrefixMatch } from '../../shared/id-prefix.js';
import type { IncidentStore } from '../../shared/incidents.js';
import type { Keyspace } from '../../shared/keys.js';
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import type { RedisConnection } from '../../shared/redis.js';
import { approvalDecisionBodySchema } from '../../shared/schemas/approval.js';
import { incidentStatusSchema } from '../../shared/schemas/incident.js';
import {
  breakerResetJobSchema,
  incidentCommandBodySchema,
  incidentCommandResultSchema,
  incidentCommandSchema,
} from '../../shared/schemas/jobs.js';
import { incidentTargets } from '../../shared/targets/incident-targets.js';
import type { Targets } from '../../shared/targets/targets.js';
import { actingName } from './actor.js';
import { type AuthEnv, adminGate, refuse, requireRole } from './auth.js';
import type { NamedUser, Principal } from './credentials.js';
import type { IngestEnv } from './env.js';
import { requestBreakerReset, requestIncidentCommand } from './executor-requests.js';
import { createMcpApp } from './mcp/app.js';
import type { RefusalLog } from './refusal-log.js';
import { crossSiteRefusal } from './request-origin.js';
import { failureReply } from './storage-errors.js';
import { createConsoleApp } from './ui/app.js';
import { AutomationStatusReader } from './ui/automation-status.js';
import { validated } from './validate.js';

export interface IngestAppDeps {
  env: IngestEnv;
  /** Named credentials (USERS_FILE). */
  users: readonly NamedUser[];
  /** Where refused requests are logged, shared with the webhook. */
  refusals: RefusalLog;
  redis: RedisConnection;
  keys: Keyspace;
  incidents: IncidentStore;
  /** The executor's queue: approvals and breaker resets are carried out by it. */
  actions: Queue;
  /** Where incidents are (TARGETS_FILE), or why that is unknown. */
  targets: Targets | Error;
  approvals: ApprovalStore;
  decisions: ApprovalDecisions;
  control: AutomationControl;
  queues: Queue[];
  metrics: Metrics;
  logger: Logger;
  /** Mounted at /slack/interactions when SLACK_SIGNING_SECRET is set. */
  slackInteractions?: Hono;
}

const listQuerySchema = z.object({
  status: incidentStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .regex(/^\d+:[A-Za-z0-9_-]+$/, 'cursor is the nextCursor of a previous page')
    .optional(),
});

// `by` may be left out: the credential says who (see actor.ts).
const pauseBodySchema = z.object({ by: approvalDecisionBodySchema.shape.by.optional() });
const decisionBodySchema = approvalDecisionBodySchema.partial({ by: true });
const commandBodySchema = incidentCommandBodySchema.partial({ by: true });
const breakerResetBodySchema = breakerResetJobSchema.partial({ by: true });

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const API_BODY_BYTES = 1024 * 1024;
const LOGIN_BODY_BYTES = 16 * 1024;
// The unread rest of the body is still on the wire: the connection cannot be reused.
const tooLarge = (c: Context) => {
  c.header('connection', 'close');
  return c.json({ error: 'request body too large' }, 413);
};

const verifyQuerySchema = z
  .object({
    /** The caller's retention (its AUDIT_MAX_ENTRIES); default ingest's own. */
    maxEntries: z.coerce.number().int().min(1).optional(),
    seq: z.coerce.number().int().min(1).optional(),
    hash: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'hash is 64 hex digits')
      .optional(),
  })
  .refine((q) => (q.seq === undefined) === (q.hash === undefined), 'give seq and hash together');

const positionsQuerySchema = z.object({
  after: z
    .string()
    .regex(/^\d+-\d+$/, 'after is the next of a previous page')
    .optional(),
});

export function createIngestApp(deps: IngestAppDeps): Hono {
  const { env, metrics, logger } = deps;
  const app = new Hono();
  const gate = adminGate(env.ADMIN_TOKEN, deps.users, deps.redis, deps.keys, deps.refusals);
  // The incident console's session cookie (with its CSRF header on writes) also passes.
  const viewer = requireRole(gate, 'viewer', { allowSession: true });
  const operator = requireRole(gate, 'operator', { allowSession: true });
  const approver = requireRole(gate, 'approver', { allowSession: true });
  /** The name a request records, from its credential; or the answer refusing a `by` that is not it. */
  const actor = (c: Context<AuthEnv>, by: string | undefined) => {
    const acting = actingName(c.get('principal'), by);
    return acting.ok ? acting.by : c.json({ error: acting.error }, acting.status);
  };

  // Every body is bounded (the webhook has its own MAX_BODY_BYTES path): 1 MiB for the API and
  // Slack, 16 KiB for the console's unauthenticated sign-in, before anything reads it.
  app.use('/ui/login', bodyLimit({ maxSize: LOGIN_BODY_BYTES, onError: tooLarge }));
  // A web page the operator has open must not write here, token or not.
  app.use('*', async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next();
    const refusal = crossSiteRefusal({
      'sec-fetch-site': c.req.header('sec-fetch-site'),
      origin: c.req.header('origin'),
      host: c.req.header('host'),
    });
    return refusal ? refuse(gate, c, 'cross-site', 403, refusal) : next();
  });
  app.use('*', bodyLimit({ maxSize: API_BODY_BYTES, onError: tooLarge }));
  app.use('*', async (c, next) => {
    const started = process.hrtime.bigint();
    await next();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.httpDuration.observe(
      { method: c.req.method, route: c.req.routePath, status: String(c.res.status) },
      seconds,
    );
  });

  app.onError((error, c) => {
    // Hono's own answers (malformed JSON in a validated body): said as this API says errors.
    if (error instanceof HTTPException) return c.json({ error: error.message }, error.status);
    const { status, body } = failureReply(error, logger, c.req.path);
    return c.json(body, status);
  });

  app.get('/api/incidents', viewer, validated('query', listQuerySchema, 'invalid query'), async (c) => {
    const page = await deps.incidents.list(c.req.valid('query'));
    const short = await deps.incidents.shortIds(page.incidents.map((incident) => incident.id));
    return c.json({
      ...page,
      incidents: page.incidents.map((incident) => ({ ...incident, shortId: short.get(incident.id) })),
    });
  });

  // Every :id takes a whole id or a prefix of one unique among all ever issued (lists show the
  // shortest); a prefix that begins several is refused, naming each with its status.
  const unknownId = async (
    c: Context,
    what: 'incident' | 'approval',
    match: Exclude<PrefixMatch, { ok: true }>,
  ) => {
    if (match.reason === 'not_found') return c.json({ error: `${what} not found` }, 404);
    const candidates = await Promise.all(
      match.matches.map(async (id) => ({
        id,
        status:
          (what === 'incident'
            ? await deps.incidents.getStatus(id)
            : (await deps.approvals.get(id))?.status) ?? 'unknown',
      })),
    );
    const named = candidates.map((candidate) => `${candidate.id} (${candidate.status})`).join(', ');
    return c.json(
      {
        error: `${what} id ${c.req.param('id')} is ambiguous: ${named}; give more of it`,
        details: { matches: match.matches, candidates },
      },
      409,
    );
  };

  app.get('/api/incidents/:id', viewer, async (c) => {
    const match = await deps.incidents.resolveId(c.req.param('id'));
    if (!match.ok) return unknownId(c, 'incident', match);
    const incident = await deps.incidents.get(match.id);
    if (!incident) return c.json({ error: 'incident not found' }, 404);
    return c.json({ ...incident, ...(await incidentTargets(deps.incidents, deps.targets, incident.id)) });
  });

  // acknowledge | resolve | rerun; any other word is not a route here (404).
  const knownCommand: MiddlewareHandler = async (c, next) => {
    if (!incidentCommandSchema.safeParse(c.req.param('command')).success)
      return c.json({ error: 'not found' }, 404);
    await next();
  };
  app.post(
    '/api/incidents/:id/:command',
    operator,
    knownCommand,
    validated('json', commandBodySchema, 'invalid body'),
    async (c) => {
      const command = incidentCommandSchema.parse(c.req.param('command'));
      const body = c.req.valid('json');
      const by = actor(c, body.by);
      if (by instanceof Response) return by;
      const match = await deps.incidents.resolveId(c.req.param('id'));
      if (!match.ok) return unknownId(c, 'incident', match);
      const request = { ...body, by, incidentId: match.id, command };
      const { done, value } = await requestIncidentCommand(deps.actions, request);
      logger.warn({ ...request, done }, 'incident command requested');
      if (!done)
        return c.json(
          { done, error: 'requested; no executor has carried it out yet (is one running?)' },
          202,
        );
      const result = incidentCommandResultSchema.parse(value);
      if (!result.ok) return c.json({ error: result.reason }, result.notFound ? 404 : 409);
      return c.json({ done, ...result, by, incident: await deps.incidents.getSummary(match.id) });
    },
  );

  app.get('/api/approvals', viewer, async (c) => {
    const approvals = await deps.approvals.listPending();
    const [short, incidents] = await Promise.all([
      deps.approvals.shortIds(approvals.map((approval) => approval.id)),
      deps.incidents.shortIds(approvals.map((approval) => approval.incidentId)),
    ]);
    return c.json({
      approvals: approvals.map((approval) => ({
        ...approval,
        shortId: short.get(approval.id),
        incidentShortId: incidents.get(approval.incidentId),
      })),
    });
  });

  for (const [verb, decision] of [
    ['approve', 'approved'],
    ['deny', 'denied'],
  ] as const) {
    app.post(
      `/api/approvals/:id/${verb}`,
      approver,
      validated('json', decisionBodySchema, 'invalid body'),
      async (c) => {
        const { comment } = c.req.valid('json');
        const by = actor(c, c.req.valid('json').by);
        if (by instanceof Response) return by;
        const match = await deps.approvals.resolveId(c.req.param('id'));
        if (!match.ok) return unknownId(c, 'approval', match);
        const result = await deps.decisions.decide(match.id, decision, by, comment);
        if (result.ok) return c.json({ approval: result.approval });
        // Closed (decided, expired, spent, or any state but pending): said with who and when.
        const closed = result.reason === 'not_found' ? null : await deps.approvals.get(match.id);
        if (closed && closed.status !== 'pending')
          return c.json({ error: closedApprovalReason(closed), details: { reason: result.reason } }, 409);
        const status = result.reason === 'not_found' ? 404 : 409;
        return c.json({ error: `approval cannot be ${decision}: ${result.reason}` }, status);
      },
    );
  }

  const status = new AutomationStatusReader(deps.redis, deps.keys, deps.control, env.AUDIT_MAX_ENTRIES);
  const automation = async () => {
    const [{ paused, mode, breaker }, queues] = await Promise.all([status.read(), queueDepths(deps.queues)]);
    return { ...paused, mode: mode?.mode ?? null, breaker, queues };
  };
  app.get('/api/automation', viewer, async (c) => c.json(await automation()));
  app.post(
    '/api/automation/breaker/reset',
    operator,
    validated('json', breakerResetBodySchema, 'invalid body'),
    async (c) => {
      const by = actor(c, c.req.valid('json').by);
      if (by instanceof Response) return by;
      const request = { ...c.req.valid('json'), by };
      const { done } = await requestBreakerReset(deps.actions, request);
      logger.warn({ by: request.by, reason: request.reason, done }, 'circuit breaker reset requested');
      return c.json({ reset: done, resetBy: by, ...(await automation()) }, done ? 200 : 202);
    },
  );
  app.post(
    '/api/automation/pause',
    operator,
    validated('json', pauseBodySchema, 'invalid body'),
    async (c) => {
      const by = actor(c, c.req.valid('json').by);
      if (by instanceof Response) return by;
      await deps.control.pause(by);
      logger.warn({ by }, 'automation paused');
      return c.json(await deps.control.isPaused());
    },
  );
  app.post('/api/automation/resume', operator, async (c) => {
    await deps.control.resume();
    logger.warn({ by: whoResumed(c.get('principal')) }, 'automation resumed');
    return c.json(await deps.control.isPaused());
  });

  // ?seq=&hash= : a chain position seen outside Redis (the executor's log), to catch truncation;
  // ?maxEntries= : the retention the caller holds a trimmed chain to (default ingest's own).
  app.get('/api/audit/verify', viewer, validated('query', verifyQuerySchema, 'invalid query'), async (c) => {
    const { seq, hash, maxEntries } = c.req.valid('query');
    return c.json(
      await status.verifyAudit({
        maxEntries,
        witness: seq !== undefined && hash ? { seq, hash } : undefined,
      }),
    );
  });
  // Each kept entry's number and hash, oldest first, a page at a time: for a verifier to compare
  // with its witnesses (hermes audit verify --witness).
  app.get(
    '/api/audit/positions',
    viewer,
    validated('query', positionsQuerySchema, 'invalid query'),
    async (c) => c.json(await auditPositions(deps.redis, deps.keys, c.req.valid('query').after)),
  );

  app.route('/', createMcpApp({ ...deps, gate, api: (request, bindings) => app.fetch(request, bindings) }));
  app.route('/ui', createConsoleApp({ ...deps, gate }));

  if (deps.slackInteractions) app.route('/slack/interactions', deps.slackInteractions);

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
    await updateQueueDepth(deps.queues, metrics).catch(() => undefined);
    return c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });

  const board = new HonoAdapter(serveStatic);
  createBullBoard({ queues: deps.queues.map((q) => new BullMQAdapter(q)), serverAdapter: board });
  board.setBasePath('/admin/queues');
  // The console's session opens Bull Board too (its writes need Basic auth: they carry no CSRF token).
  // Looking needs a viewer; retrying, cleaning and the like an operator.
  const queueBoard = requireRole(gate, (method) => (SAFE_METHODS.has(method) ? 'viewer' : 'operator'), {
    allowBasic: true,
    allowSession: true,
  });
  app.use('/admin/queues', queueBoard);
  app.use('/admin/queues/*', queueBoard);
  app.route('/admin/queues', board.registerPlugin());

  return app;
}

/** Who resumed, for the log line: resuming takes no body, so no `by`. */
function whoResumed(principal: Principal): string {
  const acting = actingName(principal, undefined);
  return acting.ok ? acting.by : 'this machine (no token set)';
}

/** Jobs waiting (or delayed) per queue: what `hermes_queue_depth` reports. */
async function queueDepths(queues: Queue[]): Promise<Record<string, number>> {
  const depths = await Promise.all(
    queues.map(async (queue) => {
      const counts = await queue.getJobCounts('wait', 'prioritized', 'delayed');
      return [queue.name, (counts.wait ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0)] as const;
    }),
  );
  return Object.fromEntries(depths);
}

async function updateQueueDepth(queues: Queue[], metrics: Metrics): Promise<void> {
  for (const [queue, depth] of Object.entries(await queueDepths(queues)))
    metrics.queueDepth.set({ queue }, depth);
}
