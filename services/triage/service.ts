import { DelayedError, type Job, Worker } from 'bullmq';
import { IncidentStore } from '../../shared/incidents.js';
import { keyspace } from '../../shared/keys.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { createMetrics, type Metrics } from '../../shared/metrics.js';
import { NotificationOutbox } from '../../shared/outbox.js';
import { startPeriodic } from '../../shared/periodic.js';
import { createQueue, createQueueEvents, QUEUE } from '../../shared/queues.js';
import { createRedis, waitForRedis } from '../../shared/redis.js';
import { SshPool } from '../../shared/remote/ssh.js';
import { triageJobSchema } from '../../shared/schemas/jobs.js';
import { loadTargets } from '../../shared/targets/targets.js';
import { ActionClient } from './actions.js';
import type { TriageEnv } from './env.js';
import { Investigator } from './investigate.js';
import { ChatModel } from './llm/model.js';
import { LlmPlanner } from './planners/llm.js';
import { RunbookPlanner } from './planners/runbook.js';
import { loadRunbooks } from './planners/runbooks.js';
import { ShutdownError } from './planners/types.js';
import { sweepStuckIncidents } from './stuck-incidents.js';
import { loadAllowlist } from './tools/diagnosis.js';
import { FileLogSource, parseLogSources } from './tools/logs.js';
import { PrometheusClient } from './tools/prometheus.js';
import { localReads, TargetReads } from './tools/target-reads.js';
import { Toolbox } from './tools/toolbox.js';
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
  const [runbooks, allowlist] = await Promise.all([
    loadRunbooks(env.RUNBOOKS_FILE),
    loadAllowlist(env.DIAGNOSIS_ALLOWLIST_FILE),
  ]);
  const logFiles = parseLogSources(env.LOG_SOURCES);
  const targets = loadTargets(env.TARGETS_FILE);

  const keys = keyspace(env.HERMES_PREFIX);
  const command = createRedis(env, 'blocking');
  const blocking = createRedis(env, 'blocking');
  const eventsConnection = createRedis(env, 'blocking');
  const connections = [command, blocking, eventsConnection];
  for (const connection of connections) {
    connection.on('error', (error) => logger.debug({ err: error.message }, 'redis connection error'));
  }
  await waitForRedis(command, env.REDIS_CONNECT_TIMEOUT_SECONDS * 1000);

  const store = new IncidentStore(command, keys);
  const lockMs = env.TRIAGE_LOCK_SECONDS * 1000;
  const triageQueue = createQueue(QUEUE.triage, command, keys.bullPrefix);
  const actionQueue = createQueue(QUEUE.agentActions, command, keys.bullPrefix);
  const notifications = createQueue(QUEUE.notifications.triage, command, keys.bullPrefix);
  const actionEvents = createQueueEvents(QUEUE.agentActions, eventsConnection, keys.bullPrefix);
  await actionEvents.waitUntilReady();
  const actions = new ActionClient(actionQueue, actionEvents, env.ACTION_TIMEOUT_MS, store);
  const prometheus = env.PROMETHEUS_URL ? new PrometheusClient(env.PROMETHEUS_URL) : undefined;
  const targetReads = new TargetReads(
    targets,
    store,
    new SshPool(),
    env.DIAGNOSIS_TIMEOUT_MS,
    localReads({
      logs: new FileLogSource(logFiles, env.LOG_DIR),
      allowlist,
      diagnosisTimeoutMs: env.DIAGNOSIS_TIMEOUT_MS,
      hasPrometheus: prometheus !== undefined,
    }),
  );
  const toolbox = new Toolbox({
    store,
    actions,
    notifications,
    targets: targetReads,
    prometheus,
    outputMaxChars: env.TOOL_OUTPUT_MAX_CHARS,
  });
  const model = new ChatModel(
    {
      baseURL: env.HERMES_BASE_URL,
      apiKey: env.HERMES_API_KEY,
      model: env.HERMES_MODEL,
      requestTimeoutMs: env.LLM_REQUEST_TIMEOUT_MS,
      maxRetries: env.LLM_MAX_RETRIES,
      probeTimeoutMs: env.LLM_PROBE_TIMEOUT_MS,
      probeTtlMs: env.LLM_PROBE_TTL_SECONDS * 1000,
    },
    metrics,
  );
  const investigator = new Investigator({
    redis: command,
    backlogKey: keys.triageBacklog,
    store,
    outbox: new NotificationOutbox(command, keys, 'triage', notifications),
    actions,
    toolbox,
    verifier: new Verifier(store, prometheus),
    triage: triageQueue,
    verifyWindowMs: env.VERIFY_WINDOW_SECONDS * 1000,
    verifyIntervalMs: env.VERIFY_INTERVAL_MS,
    llm: new LlmPlanner(model, toolbox, {
      maxIterations: env.LLM_MAX_ITERATIONS,
      maxTokens: env.LLM_TOKEN_BUDGET,
      wallClockMs: env.LLM_WALL_CLOCK_SECONDS * 1000,
    }),
    runbook: new RunbookPlanner(runbooks, toolbox),
    model,
    mode: env.PLANNER,
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
        const outcome = await investigator.handle(payload.data, shutdown.signal);
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
      await stuck.stop();
      await worker.close();
      await actionEvents.close();
      await Promise.all([actionQueue.close(), notifications.close(), triageQueue.close()]);
      targetReads.close();
      for (const connection of connections) connection.disconnect();
    },
  };
}
