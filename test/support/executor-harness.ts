import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { executorEnvSchema } from '../../services/executor/env.js';
import { type ExecutorHandle, startExecutor } from '../../services/executor/service.js';
import { SETTLE_GRACE_MS, sweepApprovals } from '../../services/executor/sweeper.js';
import type { ApprovalDecisions } from '../../shared/approval-decisions.js';
import { ApprovalStore } from '../../shared/approvals.js';
import { parseEnv } from '../../shared/env.js';
import { IncidentStore } from '../../shared/incidents.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { QUEUE } from '../../shared/queues.js';
import type { ActionJob, ActionOutcome } from '../../shared/schemas/jobs.js';
import { openTestRedis, type TestRedis } from './redis.js';
import { LOCAL_TARGETS } from './targets.js';

export const RECORD_RUN = fileURLToPath(new URL('./record-run.mjs', import.meta.url));

/** Change budgets out of the way, for tests of everything else (a policy block, flow YAML). */
export const ROOMY_BUDGETS = '{ maxInFlight: 10000, maxInFlightFleet: 10000 }';

/**
 * A policy like config/policy.yaml, but whose commands run the record-run fixture (a real process
 * that appends to `marker`), disk cleaning under `diskRoot`, and a small breaker threshold.
 */
export function testPolicy(
  marker: string,
  diskRoot: string,
  globalCap = 50,
  breakerThreshold = 2,
  restartsPerHour = 3,
  budgets = ROOMY_BUDGETS,
  /** More top-level policy YAML (preapproved:, recurrence:, learning:). */
  extra = '',
): string {
  const run = (code: number, ...args: string[]) =>
    JSON.stringify([process.execPath, RECORD_RUN, marker, String(code), ...args]);
  return `
version: 1
limits: { stateChangesPerHour: ${globalCap} }
breaker: { failureThreshold: ${breakerThreshold}, windowSeconds: 3600, cooldownSeconds: 3600 }
budgets: ${budgets}
command: { timeoutSeconds: 20, maxOutputBytes: 1024 }
tools:
  get_service_logs: { tier: read }
  request_human_confirmation: { tier: read }
  restart_service:
    tier: safe
    args:
      service: { type: name }
      host: { type: name }
      reason: { type: text, maxLength: 1000 }
    rateLimit:
      per: service
      max: ${restartsPerHour}
      windowSeconds: 3600
      message: "Service {value} restarted {count} times this hour (limit: {max})"
    backend: { kind: command, argv: ${run(0, 'restart', '{service}')} }
  restart_consumers:
    tier: safe
    args:
      service: { type: name }
      reason: { type: text }
    backend: { kind: command, argv: ${run(1, 'consumers', '{service}')} }
  restart_db_pool:
    tier: safe
    args:
      service: { type: name }
      reason: { type: text }
    backend: { kind: command, argv: ${run(0, 'slow', '{service}')} }
  clean_disk_space:
    tier: safe
    args:
      host: { type: name }
      paths: { type: paths }
      min_age_days: { type: integer, min: 7, default: 7 }
    backend: { kind: disk, roots: [${JSON.stringify(diskRoot)}] }
  scale_service:
    tier: safe
    args:
      service: { type: name }
      replicas: { type: integer, min: 0, optional: true }
      delta: { type: integer, max: 2, optional: true }
    scale: { baseline: 2, maxAboveBaseline: 2 }
    backend: { kind: command, argv: ${run(0, 'scale', '{service}', '--replicas={replicas}')} }
  rollback_deployment:
    tier: confirm
    args:
      service: { type: name }
      reason: { type: text }
    backend: { kind: command, argv: ${run(0, 'rollback', '{service}')} }
  drop_table: { tier: forbidden }
${extra}`;
}

export interface ExecutorHarness {
  t: TestRedis;
  dir: string;
  marker: string;
  diskRoot: string;
  incidents: IncidentStore;
  approvals: ApprovalStore;
  /** The humans' queue (approved actions), as ingest writes it. */
  actions: Queue;
  /** The agent's queue, as triage writes it. */
  agentActions: Queue;
  executor: ExecutorHandle;
  /**
   * Adds an action job (jobId = actionId, as triage does) and waits for the executor's outcome. It goes
   * on the queue its requester writes (`agent` → the agent's), unless `queue` says otherwise.
   */
  submit(
    job: Partial<ActionJob> & Record<string, unknown>,
    options?: { jobId?: string; queue?: 'agent' | 'human' },
  ): Promise<ActionOutcome>;
  /** Adds a `feedback` job and waits for its result. */
  feedback(job: Record<string, unknown>): Promise<unknown>;
  /** Adds a named job to the humans' queue (as ingest does: `fleet_release`, …) and waits for its answer. */
  command(name: string, data: Record<string, unknown>): Promise<unknown>;
  /** Lines the record-run fixture wrote: one per real process run. */
  runs(): string[];
  /** Runs the executor's approval sweep once, as if the clock read `now`. */
  sweep(decisions: ApprovalDecisions, now?: number): Promise<number>;
  /** How long the sweeper leaves a human decision to record its own consequences. */
  settleGraceMs: number;
  startAnother(): Promise<ExecutorHandle>;
  close(): Promise<void>;
}

let counter = 0;

export async function startExecutorHarness(
  options: {
    mode?: 'live' | 'dry-run';
    t?: TestRedis;
    env?: Record<string, string>;
    globalCap?: number;
    /** Failed or ineffective fixes that open the breaker (default 2). */
    breakerThreshold?: number;
    /** restart_service's rate limit per service (default 3 an hour). */
    restartsPerHour?: number;
    /** The policy's `budgets:` block (flow YAML); default ROOMY_BUDGETS. */
    budgets?: string;
    /** More top-level policy YAML, after tools: (see testPolicy). */
    policyExtra?: string;
    /** Where the executor logs (default: nowhere). */
    logger?: Logger;
  } = {},
): Promise<ExecutorHarness> {
  const t = options.t ?? (await openTestRedis());
  const dir = mkdtempSync(join(tmpdir(), 'hermes-exec-'));
  const marker = join(dir, 'runs.log');
  const diskRoot = join(dir, 'logs');
  const policyPath = join(dir, 'policy.yaml');
  writeFileSync(
    policyPath,
    testPolicy(
      marker,
      diskRoot,
      options.globalCap,
      options.breakerThreshold,
      options.restartsPerHour,
      options.budgets,
      options.policyExtra,
    ),
  );
  const env = parseEnv(executorEnvSchema, {
    REDIS_URL: t.url,
    HERMES_PREFIX: t.prefix,
    POLICY_FILE: policyPath,
    TARGETS_FILE: LOCAL_TARGETS,
    EXECUTION_MODE: options.mode ?? 'live',
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const logger = options.logger ?? createLogger('executor', 'silent');
  const started: ExecutorHandle[] = [];
  const start = async () => {
    const handle = await startExecutor(env, { logger });
    started.push(handle);
    return handle;
  };
  const executor = await start();
  const connection = new Redis(t.url, { maxRetriesPerRequest: null });
  connection.on('error', () => undefined);
  const actions = new Queue(QUEUE.actions, { connection, prefix: t.keys.bullPrefix });
  const agentActions = new Queue(QUEUE.agentActions, { connection, prefix: t.keys.bullPrefix });
  const events = new QueueEvents(QUEUE.actions, { connection: { url: t.url }, prefix: t.keys.bullPrefix });
  const agentEvents = new QueueEvents(QUEUE.agentActions, {
    connection: { url: t.url },
    prefix: t.keys.bullPrefix,
  });
  await Promise.all([events.waitUntilReady(), agentEvents.waitUntilReady()]);
  const approvals = new ApprovalStore(t.redis, t.keys);
  return {
    t,
    dir,
    marker,
    diskRoot,
    incidents: new IncidentStore(t.redis, t.keys),
    approvals,
    actions,
    agentActions,
    executor,
    async submit(job, submitOptions = {}) {
      const actionId = (job.actionId as string | undefined) ?? `act-${process.pid}-${++counter}`;
      const data = { actionId, requestedBy: 'agent', args: {}, ...job };
      const agent = (submitOptions.queue ?? (data.requestedBy === 'agent' ? 'agent' : 'human')) === 'agent';
      const added: Job = await (agent ? agentActions : actions).add('action', data, {
        jobId: submitOptions.jobId ?? actionId,
      });
      return (await added.waitUntilFinished(agent ? agentEvents : events, 20_000)) as ActionOutcome;
    },
    async feedback(job) {
      const added: Job = await agentActions.add('feedback', job, { jobId: `feedback-${++counter}` });
      return added.waitUntilFinished(agentEvents, 20_000);
    },
    async command(name, data) {
      const added: Job = await actions.add(name, data, { jobId: `${name}-${++counter}` });
      return added.waitUntilFinished(events, 20_000);
    },
    runs() {
      return existsSync(marker) ? readFileSync(marker, 'utf8').trim().split('\n').filter(Boolean) : [];
    },
    sweep: (decisions, now) => sweepApprovals(approvals, decisions, now),
    settleGraceMs: SETTLE_GRACE_MS,
    startAnother: start,
    async close() {
      await Promise.all(started.map((handle) => handle.close()));
      await Promise.all([events.close(), agentEvents.close(), actions.close(), agentActions.close()]);
      connection.disconnect();
      if (!options.t) await t.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
