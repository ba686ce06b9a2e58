import { type Job, Worker } from 'bullmq';
import { ApprovalDecisions } from '../../shared/approval-decisions.js';
import { ApprovalStore } from '../../shared/approvals.js';
import { readConfig } from '../../shared/config-reload.js';
import { publishConfigVersions } from '../../shared/config-versions.js';
import { AutomationControl } from '../../shared/control.js';
import { IncidentStore } from '../../shared/incidents.js';
import { dryRunKeys, type Keyspace, keyspace } from '../../shared/keys.js';
import { LearnedRules } from '../../shared/learned-rules.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { createMetrics, type Metrics } from '../../shared/metrics.js';
import { NotificationOutbox } from '../../shared/outbox.js';
import { OutcomeStore } from '../../shared/outcomes.js';
import { startPeriodic } from '../../shared/periodic.js';
import { createQueue, QUEUE } from '../../shared/queues.js';
import { createRedis, type RedisConnection, waitForRedis } from '../../shared/redis.js';
import { SshPool } from '../../shared/remote/ssh.js';
import {
  type ActionJob,
  breakerResetJobSchema,
  learnedClearJobSchema,
  type NotificationJob,
  type TriageJob,
} from '../../shared/schemas/jobs.js';
import { type Targets, watchTargets } from '../../shared/targets/targets.js';
import { ApprovalFlow } from './approval-flow.js';
import { AuditLog } from './audit.js';
import { AuditWitnessLog } from './audit-witness.js';
import { type Backend, createBackend } from './backends.js';
import { CircuitBreaker } from './breaker.js';
import { ChangeBudgets } from './budgets.js';
import { ActionClaims } from './claims.js';
import type { ExecutorEnv } from './env.js';
import { FeedbackHandler } from './feedback.js';
import { FleetHolds } from './fleet-holds.js';
import { HeldChanges } from './held-changes.js';
import { IncidentCommands } from './incident-commands.js';
import { IncidentGate } from './incident-gate.js';
import { Judgement } from './judgement.js';
import { ActionPlacer } from './placement.js';
import { PolicyError, parsePolicy } from './policy.js';
import { ActionProcessor } from './processor.js';
import { RateLimiter } from './rate-limit.js';
import { DecisionRecorder } from './recorder.js';
import { ReplicaCounts } from './scale.js';
import { sweepApprovals } from './sweeper.js';
import { type BackendChooser, TargetBackends } from './target-backends.js';

export interface ExecutorHandle {
  metrics: Metrics;
  close(): Promise<void>;
}

export interface ExecutorDeps {
  logger?: Logger;
  /** Wraps the real backends (the eval's dry run: decided by this executor, nothing is contacted). */
  backends?: (real: TargetBackends, targets: Targets) => BackendChooser;
}

export async function startExecutor(env: ExecutorEnv, deps: ExecutorDeps = {}): Promise<ExecutorHandle> {
  const logger = deps.logger ?? createLogger('executor', env.LOG_LEVEL);
  // A bad policy stops the start before any connection is opened.
  const config = await loadConfiguration(env, deps, logger);
  const keys = keyspace(env.HERMES_PREFIX);
  const command = createRedis(env, 'command');
  const blocking = createRedis(env, 'blocking');
  const connections = [command, blocking];
  for (const connection of connections)
    connection.on('error', (error) => logger.debug({ err: error.message }, 'redis connection error'));
  await waitForRedis(command, env.REDIS_CONNECT_TIMEOUT_SECONDS * 1000);

  const parts = await assemble(env, config, logger, command, keys);
  const workers = await startWorkers(env, parts, blocking, keys, logger);
  // Published for the console and CLI: whether this executor runs actions or only records them.
  await command.set(
    keys.exec('mode'),
    JSON.stringify({ mode: env.EXECUTION_MODE, at: new Date().toISOString() }),
  );
  await publishConfigVersions(command, keys, 'executor', config.files, logger);
  const sweeper = startPeriodic(
    async () => {
      await parts.judgement.auditUnaudited();
      return Promise.all([sweepApprovals(parts.approvals, parts.decisions), parts.heldChanges.sweep()]);
    },
    env.APPROVAL_SWEEP_SECONDS * 1000,
    logger,
    'approval sweep',
  );
  logger.info(
    {
      mode: env.EXECUTION_MODE,
      policy: env.POLICY_FILE,
      targets: env.TARGETS_FILE,
      tools: config.localTools,
      concurrency: env.EXECUTOR_CONCURRENCY,
    },
    'executor started',
  );

  let closing: Promise<void> | undefined;
  const close = async () => {
    config.targetsFile.close();
    await sweeper.stop();
    // Waits for running actions to finish and record their outcome.
    await Promise.all(workers.map((worker) => worker.close()));
    await Promise.all(parts.queues.map((queue) => queue.close()));
    config.backends.close();
    for (const connection of connections) connection.disconnect();
  };
  return {
    metrics: parts.metrics,
    close() {
      closing ??= close();
      return closing;
    },
  };
}

/**
 * The policy, the fleet, the audit witness and the backends: all read before any connection opens.
 * The fleet follows TARGETS_FILE as it changes; the policy is read once (the backends, breaker and
 * SSH pool are built from it).
 */
async function loadConfiguration(env: ExecutorEnv, deps: ExecutorDeps, logger: Logger) {
  const policyFile = readConfig(env.POLICY_FILE, parsePolicy, PolicyError);
  const policy = policyFile.value;
  const { file: targetsFile, targets } = watchTargets(env.TARGETS_FILE, env.TOPOLOGY_LABELS, logger);
  const witnesses = await AuditWitnessLog.open(logger, env.AUDIT_WITNESS_FILE);
  const localBackends = new Map<string, Backend>();
  for (const [name, tool] of Object.entries(policy.tools))
    if (tool.backend) localBackends.set(name, createBackend(tool.backend, policy));
  const realBackends = new TargetBackends(
    policy,
    targets,
    localBackends,
    new SshPool({ maxOutputBytes: policy.command.maxOutputBytes }),
  );
  const backends = deps.backends ? deps.backends(realBackends, targets) : realBackends;
  const files = { watched: { TARGETS_FILE: targetsFile }, fixed: { POLICY_FILE: policyFile.version } };
  return { policy, targets, targetsFile, files, witnesses, backends, localTools: localBackends.size };
}

type Configuration = Awaited<ReturnType<typeof loadConfiguration>>;

/** The executor's parts on one Redis connection: stores, queues, the action processor and its handlers. */
async function assemble(
  env: ExecutorEnv,
  { policy, targets, witnesses, backends }: Configuration,
  logger: Logger,
  command: RedisConnection,
  keys: Keyspace,
) {
  // Dry-run keeps its own limits, breaker and replica counts: promoting to live starts clean.
  const accounting = env.EXECUTION_MODE === 'dry-run' ? dryRunKeys(keys) : keys;
  const notifications = createQueue<NotificationJob>(QUEUE.notifications.executor, command, keys.bullPrefix);
  const triage = createQueue<TriageJob>(QUEUE.triage, command, keys.bullPrefix);
  // For settling approval decisions whose deciding process died (the sweeper).
  const actions = createQueue<ActionJob>(QUEUE.actions, command, keys.bullPrefix);
  const incidents = new IncidentStore(command, keys);
  const approvals = new ApprovalStore(command, keys);
  await approvals
    .indexEarlierIds()
    .catch((error) => logger.warn({ err: (error as Error).message }, 'earlier approval ids not indexed'));
  const audit = new AuditLog(command, keys, env.AUDIT_MAX_ENTRIES, witnesses);
  const breaker = new CircuitBreaker(command, accounting, policy.breaker);
  const metrics = createMetrics('executor');
  const outbox = new NotificationOutbox(command, keys, 'executor', notifications);
  const gate = new IncidentGate(command, keys, accounting);
  const decisions = new ApprovalDecisions(approvals, incidents, actions, notifications);
  // Outcomes and learned rules are kept in live keys whatever the mode: dry-run verdicts are `none`.
  const learned = new LearnedRules(command, keys);
  const judgement = new Judgement({
    outcomes: new OutcomeStore(command, keys, env.OUTCOMES_MAX_AGE_DAYS),
    learned,
    audit,
    policy,
  });
  const claims = new ActionClaims(command, keys);
  const recorder = new DecisionRecorder({
    incidents,
    audit,
    metrics,
    logger,
    mode: env.EXECUTION_MODE,
    knownTool: (tool) => Boolean(policy.tool(tool)),
  });
  const budgets = new ChangeBudgets(command, accounting, policy.budgets);
  const heldChanges = new HeldChanges({
    budgets,
    claims,
    actions,
    triage,
    recorder,
    logger,
  });
  const processor = new ActionProcessor({
    policy,
    logger,
    placer: new ActionPlacer(targets, incidents, backends),
    backends,
    mode: env.EXECUTION_MODE,
    incidents,
    control: new AutomationControl(command, keys),
    claims,
    gate,
    limiter: new RateLimiter(command, accounting),
    breaker,
    budgets: heldChanges,
    replicas: new ReplicaCounts(command, accounting),
    approvalFlow: new ApprovalFlow(approvals, incidents, outbox, env.APPROVAL_TTL_SECONDS),
    judgement,
    recorder,
    outbox,
    triage,
  });
  const feedback = new FeedbackHandler(
    incidents,
    breaker,
    audit,
    (incidentId, member) => processor.countFailure(incidentId, member),
    judgement,
    (incidentId, effective) => heldChanges.verdict(incidentId, effective),
  );
  const incidentCommands = new IncidentCommands({
    incidents,
    decisions,
    gate,
    outbox,
    audit,
    triage,
    logger,
    mode: env.EXECUTION_MODE,
  });
  return {
    metrics,
    approvals,
    decisions,
    processor,
    feedback,
    heldChanges,
    fleetHolds: new FleetHolds({ budgets, held: heldChanges, audit, logger, mode: env.EXECUTION_MODE }),
    incidentCommands,
    resetBreaker: breakerResetter(breaker, audit, env.EXECUTION_MODE, logger),
    clearLearned: learnedClearer(learned, audit, logger),
    judgement,
    queues: [notifications, triage, actions],
  };
}

type Parts = Awaited<ReturnType<typeof assemble>>;

/** A human's breaker reset (a `breaker_reset` job), audited. */
function breakerResetter(
  breaker: CircuitBreaker,
  audit: AuditLog,
  mode: ExecutorEnv['EXECUTION_MODE'],
  logger: Logger,
) {
  return async (raw: unknown) => {
    const parsed = breakerResetJobSchema.safeParse(raw);
    if (!parsed.success) return { reset: false, reason: 'invalid breaker_reset job' };
    const { was } = await breaker.reset();
    await audit.append({
      at: new Date().toISOString(),
      event: 'breaker_reset',
      mode,
      by: parsed.data.by,
      reason: parsed.data.reason,
      was,
    });
    logger.warn({ by: parsed.data.by, reason: parsed.data.reason, was }, 'circuit breaker closed by a human');
    return { reset: true, was };
  };
}

/** A human clears a learned rule (a `learned_clear` job), audited. */
function learnedClearer(learned: LearnedRules, audit: AuditLog, logger: Logger) {
  return async (raw: unknown) => {
    const parsed = learnedClearJobSchema.safeParse(raw);
    if (!parsed.success) return { cleared: false, reason: 'invalid learned_clear job' };
    const { ruleId, by, reason } = parsed.data;
    const rule = await learned.get(ruleId);
    if (!rule) return { cleared: false, reason: `no learned rule ${ruleId} is in force` };
    // Audited first: dying in between leaves the rule in force and the retried job clears it.
    await audit.append({
      at: new Date().toISOString(),
      event: 'learned_rule_cleared',
      ruleId,
      alertname: rule.alertname,
      tool: rule.tool,
      resource: rule.resource,
      by,
      reason,
    });
    await learned.clear(ruleId);
    logger.warn({ ruleId, by, reason }, 'learned rule cleared by a human');
    return { cleared: true, rule };
  };
}

/** The two workers: humans' jobs (ingest, executor) and the agent's requests (triage). */
async function startWorkers(
  env: ExecutorEnv,
  parts: Parts,
  blocking: RedisConnection,
  keys: Keyspace,
  logger: Logger,
): Promise<Worker[]> {
  const workerOptions = {
    connection: blocking,
    prefix: keys.bullPrefix,
    concurrency: env.EXECUTOR_CONCURRENCY,
  };
  // Humans' approved actions, breaker resets, incident commands and fleet decisions (ingest, executor).
  const humanWorker = new Worker(
    QUEUE.actions,
    async (job: Job) => {
      if (job.name === 'breaker_reset') return parts.resetBreaker(job.data);
      if (job.name === 'learned_clear') return parts.clearLearned(job.data);
      if (job.name === 'incident_command') return parts.incidentCommands.handle(job.data);
      if (job.name === 'fleet_release') return parts.fleetHolds.release(job.data);
      if (job.name === 'fleet_cancel') return parts.fleetHolds.cancel(job.data, job.id);
      if (job.name === 'fleet_closed') return parts.fleetHolds.closed(job.data);
      if (job.name === 'held_release')
        return parts.heldChanges.rerun(job.data, (held, queue) => parts.processor.handle(held, queue));
      return parts.processor.handle(job.data, 'human');
    },
    workerOptions,
  );
  // The agent's requests (triage): never carries an approval or a human's name.
  const agentWorker = new Worker(
    QUEUE.agentActions,
    async (job: Job) => {
      if (job.name === 'feedback') return parts.feedback.handle(job.data);
      return parts.processor.handle(job.data, 'agent');
    },
    workerOptions,
  );
  const workers = [humanWorker, agentWorker];
  for (const worker of workers) {
    worker.on('error', (error) => logger.error({ err: error.message }, 'executor worker error'));
    await worker.waitUntilReady();
  }
  return workers;
}
