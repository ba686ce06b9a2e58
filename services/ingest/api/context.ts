import type { Queue } from 'bullmq';
import type { Context, MiddlewareHandler } from 'hono';
import type { ApprovalDecisions } from '../../../shared/approval-decisions.js';
import type { ApprovalStore } from '../../../shared/approvals.js';
import type { Current } from '../../../shared/config-reload.js';
import type { AutomationControl } from '../../../shared/control.js';
import type { ExecutorClient } from '../../../shared/executor-client.js';
import type { PrefixMatch } from '../../../shared/id-prefix.js';
import type { IncidentStore } from '../../../shared/incidents.js';
import type { Keyspace } from '../../../shared/keys.js';
import type { Logger } from '../../../shared/logger.js';
import { OutcomeStore } from '../../../shared/outcomes.js';
import type { RedisConnection } from '../../../shared/redis.js';
import type { Targets } from '../../../shared/targets/targets.js';
import { actingName } from '../actor.js';
import { type AdminGate, type AuthEnv, requireRole } from '../auth.js';
import type { IngestEnv } from '../env.js';
import type { Fleets } from '../fleet/fleets.js';
import { AutomationStatusReader } from '../ui/automation-status.js';

export interface ApiDeps {
  env: Pick<IngestEnv, 'AUDIT_MAX_ENTRIES' | 'POLICY_FILE' | 'OUTCOMES_MAX_AGE_DAYS'>;
  gate: AdminGate;
  redis: RedisConnection;
  keys: Keyspace;
  incidents: IncidentStore;
  /** Asks the executor: incident commands and breaker resets are carried out by it. */
  executor: ExecutorClient;
  /** Where incidents are (TARGETS_FILE as last loaded), or why that is unknown. */
  targets: Current<Targets | Error>;
  approvals: ApprovalStore;
  decisions: ApprovalDecisions;
  control: AutomationControl;
  /** Fleet incidents: closing one a human resolved. */
  fleets: Fleets;
  queues: Queue[];
  logger: Logger;
}

/** What the API's route groups share: their dependencies, the role gates and the answers they give alike. */
export interface Api {
  deps: ApiDeps;
  status: AutomationStatusReader;
  /** Fixes' verdicts: the executor writes them, the API reads them. */
  outcomes: OutcomeStore;
  viewer: MiddlewareHandler<AuthEnv>;
  operator: MiddlewareHandler<AuthEnv>;
  approver: MiddlewareHandler<AuthEnv>;
  /** The name a request records, from its credential; or the answer refusing a `by` that is not it. */
  actor(c: Context<AuthEnv>, by: string | undefined): string | Response;
  /** The answer to an :id that names no record, or several. */
  unknownId(
    c: Context,
    what: 'incident' | 'approval',
    match: Exclude<PrefixMatch, { ok: true }>,
  ): Promise<Response>;
}

export function apiContext(deps: ApiDeps): Api {
  const { gate } = deps;
  // The incident console's session cookie (with its CSRF header on writes) also passes.
  return {
    deps,
    status: new AutomationStatusReader(deps.redis, deps.keys, deps.control, deps.env.AUDIT_MAX_ENTRIES),
    outcomes: new OutcomeStore(deps.redis, deps.keys, deps.env.OUTCOMES_MAX_AGE_DAYS),
    viewer: requireRole(gate, 'viewer', { allowSession: true }),
    operator: requireRole(gate, 'operator', { allowSession: true }),
    approver: requireRole(gate, 'approver', { allowSession: true }),
    actor(c, by) {
      const acting = actingName(c.get('principal'), by);
      return acting.ok ? acting.by : c.json({ error: acting.error }, acting.status);
    },
    unknownId: (c, what, match) => unknownId(deps, c, what, match),
  };
}

// Every :id takes a whole id or a prefix of one unique among all ever issued (lists show the
// shortest); a prefix that begins several is refused, naming each with its status.
async function unknownId(
  deps: ApiDeps,
  c: Context,
  what: 'incident' | 'approval',
  match: Exclude<PrefixMatch, { ok: true }>,
): Promise<Response> {
  if (match.reason === 'not_found') return c.json({ error: `${what} not found` }, 404);
  const candidates = await Promise.all(
    match.matches.map(async (id) => ({
      id,
      status:
        (what === 'incident' ? await deps.incidents.getStatus(id) : (await deps.approvals.get(id))?.status) ??
        'unknown',
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
}
