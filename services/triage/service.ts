import { DelayedError, type Job, Worker } from 'bullmq';
import { type Current, watchConfig } from '../../shared/config-reload.js';
import { publishConfigVersions } from '../../shared/config-versions.js';
import { IncidentStore } from '../../shared/incidents.js';
import { type Keyspace, keyspace } from '../../shared/keys.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { createMetrics, type Metrics } from '../../shared/metrics.js';
import { NotificationOutbox } from '../../shared/outbox.js';
import { OutcomeStore } from '../../shared/outcomes.js';
import { startPeriodic } from '../../shared/periodic.js';
import { createQueue, createQueueEvents, QUEUE } from '../../shared/queues.js';
import { createRedis, type RedisConnection, waitForRedis } from '../../shared/redis.js';
import { SshPool } from '../../shared/remote/ssh.js';
import { triageJobSchema } from '../../shared/schemas/jobs.js';
import { type Targets, watchTargets } from '../../shared/targets/targets.js';
import { ActionClient } from './actions.js';
import type { TriageEnv } from './env.js';
import { RecentHistory } from './history.js';
import { Investigator } from './investigate.js';
import { ChatModel } from './llm/model.js';
import { LlmPlanner } from './planners/llm.js';
import { RunbookPlanner } from './planners/runbook.js';
import { parseRunbooks, type RunbookFile } from './planners/runbooks.js';
import { ShutdownError } from './planners/types.js';
import { sweepStuckIncidents } from './stuck-incidents.js';
import { type DiagnosisAllowlist, loadAllowlist } from './tools/diagnosis.js';
import { FileLogSource, parseLogSources } from './tools/logs.js';
import { loadMcpServers } from './tools/mcp/config.js';
import { McpToolsets } from './tools/mcp/toolsets.js';
import { PrometheusClient } from './tools/prometheus.js';
import { localReads, TargetReads } from './tools/target-reads.js';
import { Toolbox, type ToolboxDeps } from './tools/toolbox.js';
import { Verifier } from './verify.js';

export interface TriageDeps {
  logger?: Logger;
  metrics?: Metrics;
}

export async function startTriage(
  env: TriageEnv,
  deps: TriageDeps = {},
): Promise<{ close(): Promise<void> }> {
  const logger = deps.logger ?? createLogger('triage', env.LOG_LEVEL);
  const metrics = deps.metrics ?? createMetrics('triage');
  // Configuration files are checked before any connection is opened, so a bad file fails fast.
  // The runbooks and the fleet follow their files as they change.
  const allowlist = await loadAllowlist(env.DIAGNOSIS_ALLOWLIST_FILE);
  const runbooks = watchConfig(env.RUNBOOKS_FILE, parseRunbooks, { logger, what: 'RUNBOOKS_FILE' });
  const logFiles = parseLogSources(env.LOG_SOURCES);
  const { file: targetsFile, targets } = watchTargets(env.TARGETS_FILE, env.TOPOLOGY_LABELS, logger);
  const configFiles = { RUNBOOKS_FILE: runbooks, TARGETS_FILE: targetsFile };
  const mcpServers = env.MCP_SERVERS_FILE ? loadMcpServers(env.MCP_SERVERS_FILE) : undefined;

  const keys = keyspace(env.HERMES_PREFIX);
  const [command, blocking, eventsConnection] = await connect(env, logger);
  const connections = [command, blocking, eventsConnection];
  await publishConfigVersions(command, keys, 'triage', { watched: configFiles }, logger);

  const store = new IncidentStore(command, keys);
  const triageQueue = createQueue(QUEUE.triage, command, keys.bullPrefix);
  const actionQueue = createQueue(QUEUE.agentActions, command, keys.bullPrefix);
  const notifications = createQueue(QUEUE.notifications.triage, command, keys.bullPrefix);
  const actionEvents = createQueueEvents(QUEUE.agentActions, eventsConnection, keys.bullPrefix);
  await actionEvents.waitUntilReady();
  const actions = new ActionClient(actionQueue, actionEvents, env.ACTION_TIMEOUT_MS, store);
  const prometheus = env.PROMETHEUS_URL ? new PrometheusClient(env.PROMETHEUS_URL) : undefined;
  const mcp = mcpServers && (await McpToolsets.connect(mcpServers, logger));
  const { targetReads, toolbox } = tools(env, {
    mcp,
    store,
    actions,
    notifications,
    targets,
    allowlist,
    logFiles,
    prometheus,
  });
  const model = new ChatModel(modelSettings(env), metrics);
  const investigator = new Investigator({
    redis: command,
    backlogKey: keys.triageBacklog,
    store,
    outbox: new NotificationOutbox(command, keys, 'triage', notifications),
    actions,
    toolbox,
    verifier: new Verifier(store, prometheus),
    triage: triageQueue,
    ...investigationSettings(
      env,
      model,
      toolbox,
      runbooks,
      new RecentHistory(
        new OutcomeStore(command, keys, env.OUTCOMES_MAX_AGE_DAYS),
        env.HISTORY_WINDOW_SECONDS,
      ),
    ),
    logger,
    hasLogSource: logFiles.size > 0 || env.LOG_DIR !== undefined,
    hasPrometheus: prometheus !== undefined,
  });
  if (env.PLANNER === 'auto') {
    const reachable = await model.reachable();
    logger.info(
      { model: env.HERMES_MODEL, reachable },
      reachable ? 'model reachable' : 'model not reachable; runbooks until it is',
    );
  }

  const shutdown = new AbortController();
  const worker = startTriageWorker(env, investigator, shutdown.signal, blocking, keys, logger);
  const lockMs = env.TRIAGE_LOCK_SECONDS * 1000;
  const stuck = startPeriodic(
    () => sweepStuckIncidents(store, triageQueue, 2 * lockMs, (id, why) => investigator.markFailed(id, why)),
    lockMs,
    logger,
    'stuck incident sweep',
  );
  await worker.waitUntilReady();
  logger.info({ concurrency: env.TRIAGE_CONCURRENCY, planner: env.PLANNER }, 'triage worker started');

  return {
    async close() {
      // Running investigations stop at their next step and go back to the queue for a retry.
      shutdown.abort();
      for (const file of Object.values(configFiles)) file.close();
      await stuck.stop();
      await worker.close();
      await actionEvents.close();
      await Promise.all([actionQueue.close(), notifications.close(), triageQueue.close()]);
      targetReads.close();
      await mcp?.close();
      for (const connection of connections) connection.disconnect();
    },
  };
}

/** The agent's tools: reads of the incident's places (and triage's own machine), actions, notices. */
function tools(
  env: TriageEnv,
  deps: Pick<ToolboxDeps, 'store' | 'actions' | 'notifications' | 'prometheus' | 'mcp'> & {
    targets: Targets;
    allowlist: DiagnosisAllowlist;
    logFiles: Map<string, string>;
  },
) {
  const targetReads = new TargetReads(
    deps.targets,
    deps.store,
    new SshPool(),
    env.DIAGNOSIS_TIMEOUT_MS,
    localReads({
      logs: new FileLogSource(deps.logFiles, env.LOG_DIR),
      allowlist: deps.allowlist,
      diagnosisTimeoutMs: env.DIAGNOSIS_TIMEOUT_MS,
      hasPrometheus: deps.prometheus !== undefined,
    }),
  );
  const toolbox = new Toolbox({
    store: deps.store,
    actions: deps.actions,
    notifications: deps.notifications,
    targets: targetReads,
    prometheus: deps.prometheus,
    outputMaxChars: env.TOOL_OUTPUT_MAX_CHARS,
    mcp: deps.mcp,
  });
  return { targetReads, toolbox };
}

/** How investigations plan (model or runbook, with their budgets) and verify. */
function investigationSettings(
  env: TriageEnv,
  model: ChatModel,
  toolbox: Toolbox,
  runbooks: Current<RunbookFile>,
  history: RecentHistory,
) {
  return {
    verifyWindowMs: env.VERIFY_WINDOW_SECONDS * 1000,
    verifyIntervalMs: env.VERIFY_INTERVAL_MS,
    llm: new LlmPlanner(model, toolbox, agentBudget(env), history),
    runbook: new RunbookPlanner(runbooks, toolbox, history),
    model,
    mode: env.PLANNER,
  };
}

/** Triage's three connections (commands, the worker, queue events), the first one ready. */
async function connect(
  env: TriageEnv,
  logger: Logger,
): Promise<[RedisConnection, RedisConnection, RedisConnection]> {
  const connections: [RedisConnection, RedisConnection, RedisConnection] = [
    createRedis(env, 'blocking'),
    createRedis(env, 'blocking'),
    createRedis(env, 'blocking'),
  ];
  for (const connection of connections) {
    connection.on('error', (error) => logger.debug({ err: error.message }, 'redis connection error'));
  }
  await waitForRedis(connections[0], env.REDIS_CONNECT_TIMEOUT_SECONDS * 1000);
  return connections;
}

/** The model's connection and probe settings, as triage (and the eval) read them from the environment. */
export function modelSettings(env: TriageEnv) {
  return {
    baseURL: env.HERMES_BASE_URL,
    apiKey: env.HERMES_API_KEY,
    model: env.HERMES_MODEL,
    requestTimeoutMs: env.LLM_REQUEST_TIMEOUT_MS,
    maxRetries: env.LLM_MAX_RETRIES,
    probeTimeoutMs: env.LLM_PROBE_TIMEOUT_MS,
    probeTtlMs: env.LLM_PROBE_TTL_SECONDS * 1000,
  };
}

/** The agent's budget for one investigation. */
export function agentBudget(env: TriageEnv) {
  return {
    maxIterations: env.LLM_MAX_ITERATIONS,
    maxTokens: env.LLM_TOKEN_BUDGET,
    wallClockMs: env.LLM_WALL_CLOCK_SECONDS * 1000,
  };
}

/** The worker that investigates incidents, one triage job at a time per slot. */
function startTriageWorker(
  env: TriageEnv,
  investigator: Investigator,
  shutdown: AbortSignal,
  blocking: RedisConnection,
  keys: Keyspace,
  logger: Logger,
): Worker {
  const lockMs = env.TRIAGE_LOCK_SECONDS * 1000;
  const worker = new Worker(
    QUEUE.triage,
    async (job: Job, token?: string) => {
      const payload = triageJobSchema.safeParse(job.data);
      if (!payload.success) {
        logger.error({ jobId: job.id, issues: payload.error.issues }, 'invalid triage job; dropped');
        return 'invalid job';
      }
      const log = logger.child({ incidentId: payload.data.incidentId, trigger: payload.data.trigger });
      try {
        const outcome = await investigator.handle(payload.data, shutdown);
        log.info({ outcome }, 'triage finished');
        return outcome;
      } catch (error) {
        if (error instanceof ShutdownError && token) {
          // Back to the queue without spending an attempt; another replica (or this one, restarted) resumes it.
          await job.moveToDelayed(Date.now(), token);
          throw new DelayedError();
        }
        const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        if (lastAttempt) {
          await investigator.markFailed(payload.data.incidentId, error as Error);
        }
        log.warn({ err: (error as Error).message, lastAttempt }, 'triage attempt failed');
        throw error;
      }
    },
    {
      connection: blocking,
      prefix: keys.bullPrefix,
      concurrency: env.TRIAGE_CONCURRENCY,
      lockDuration: lockMs,
      stalledInterval: lockMs,
    },
  );
  worker.on('error', (error) => logger.error({ err: error.message }, 'triage worker error'));
  // A job can end without its processor running to the end: stalled too often (its workers died),
  // or failed for good. The incident must still leave "diagnosing" and reach a human.
  worker.on('failed', (job, error) => {
    const payload = triageJobSchema.safeParse(job?.data);
    if (!job || !payload.success) return;
    const final = error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) return;
    investigator
      .markFailed(payload.data.incidentId, error)
      .catch((err: Error) =>
        logger.error({ err: err.message, jobId: job.id }, 'could not mark incident failed'),
      );
  });
  return worker;
}
