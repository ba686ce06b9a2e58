import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { ApprovalDecisions } from '../../shared/approval-decisions.js';
import { ApprovalStore } from '../../shared/approvals.js';
import { type Current, watchConfig } from '../../shared/config-reload.js';
import { publishConfigVersions } from '../../shared/config-versions.js';
import { AutomationControl } from '../../shared/control.js';
import { ExecutorClient } from '../../shared/executor-client.js';
import { IncidentStore } from '../../shared/incidents.js';
import { type Keyspace, keyspace } from '../../shared/keys.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { createMetrics, type Metrics } from '../../shared/metrics.js';
import { NotificationOutbox } from '../../shared/outbox.js';
import { createQueue, createQueueEvents, QUEUE, type QueueName } from '../../shared/queues.js';
import { createRedis, type RedisConnection, waitForRedis } from '../../shared/redis.js';
import type { ActionJob, NotificationJob, TriageJob } from '../../shared/schemas/jobs.js';
import { type Targets, TargetsError, targetsParser } from '../../shared/targets/targets.js';
import { createIngestApp } from './app.js';
import { type Classifier, createClassifier, parseClassifier } from './classify.js';
import { createCorrelator } from './correlation.js';
import { loadUsers, type NamedUser } from './credentials.js';
import type { IngestEnv } from './env.js';
import { Fleets } from './fleet/fleets.js';
import { HeldChangeRequests } from './fleet/held-change-requests.js';
import { KnownTargets } from './fleet/known-targets.js';
import { loadWidespread } from './fleet/widespread.js';
import { Intake } from './intake.js';
import { withMcpToken } from './mcp/token.js';
import { RefusalLog } from './refusal-log.js';
import { createSlackInteractionsApp } from './slack-interactions.js';
import { createWebhookHandler, isWebhookRequest } from './webhook.js';

export interface IngestHandle {
  app: Hono;
  /** Base URL the server listens on, e.g. http://127.0.0.1:8080 */
  url: string;
  close(): Promise<void>;
}

const TIMELINE_ALERT_CAP = 50;

export async function startIngest(env: IngestEnv, deps: { logger?: Logger } = {}): Promise<IngestHandle> {
  const logger = deps.logger ?? createLogger('ingest', env.LOG_LEVEL);
  const users = withMcpToken(env.USERS_FILE ? loadUsers(env.USERS_FILE) : [], env.MCP_TOKEN);
  const refusals = new RefusalLog(logger);
  const widespread = loadWidespread(env.POLICY_FILE, logger);
  const configFiles = watchConfigFiles(env, logger);
  const keys = keyspace(env.HERMES_PREFIX);
  const redis = createRedis(env, 'command');
  redis.on('error', (error) => logger.debug({ err: error.message }, 'redis connection error'));
  // Commands fail fast (so requests get 503 while Redis is away), so the first connect must finish first.
  await waitForRedis(redis, env.REDIS_CONNECT_TIMEOUT_SECONDS * 1000);
  const queues = openQueues(redis, keys, logger);
  const executor = await openExecutorClient(env, keys, queues.actions, logger);

  const metrics = createMetrics('ingest');
  const incidents = new IncidentStore(redis, keys);
  const approvals = new ApprovalStore(redis, keys);
  // Intake must not wait on it: a Redis that refuses writes is answered 503 per request.
  await incidents
    .indexEarlierIds()
    .catch((error) => logger.warn({ err: (error as Error).message }, 'earlier incident ids not indexed'));
  const decisions = new ApprovalDecisions(approvals, incidents, queues.actions, queues.notifications);
  const fleets = new Fleets({
    redis,
    keys,
    targets: configFiles.targets,
    widespread,
    outbox: new NotificationOutbox(redis, keys, 'ingest', queues.notifications),
    actions: queues.actions,
    knownTargets: env.PROMETHEUS_URL ? new KnownTargets(env.PROMETHEUS_URL, logger) : undefined,
  });
  const intake = createIntake(env, redis, keys, queues, metrics, configFiles.classifier, fleets);
  // A failover can lose the last acknowledged writes: alerts remembered as recorded are checked again.
  for (const event of ['close', '-node', 'node error']) redis.on(event, () => intake.forgetRecentAlerts());
  const slackInteractions = env.SLACK_SIGNING_SECRET
    ? createSlackInteractionsApp({
        signingSecret: env.SLACK_SIGNING_SECRET,
        decide: (approvalId, decision, by) => decisions.decide(approvalId, decision, by),
        held: new HeldChangeRequests({ incidents, executor: executor.client, logger }),
        logger,
      })
    : undefined;
  announceCredentials(env, users, logger);

  await publishConfigVersions(redis, keys, 'ingest', { watched: configFiles.watched }, logger);
  const app = createIngestApp({
    env,
    users,
    refusals,
    targets: configFiles.targets,
    redis,
    keys,
    incidents,
    approvals,
    decisions,
    metrics,
    logger,
    executor: executor.client,
    control: new AutomationControl(redis, keys),
    fleets,
    queues: queues.all,
    slackInteractions,
  });
  const handleWebhook = createWebhookHandler({ env, intake, metrics, logger, refusals });
  const handleOther = getRequestListener(app.fetch, { hostname: env.HOST });
  const server = createServer((req, res) =>
    isWebhookRequest(req) ? handleWebhook(req, res) : handleOther(req, res),
  );
  const url = await listen(server, env);
  logger.info({ listen: `${env.HOST}:${new URL(url).port}`, url }, 'ingest listening');

  return {
    app,
    url,
    async close() {
      for (const file of Object.values(configFiles.watched)) file.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...queues.all.map((queue) => queue.close()), executor.close()]);
      redis.disconnect();
    },
  };
}

/**
 * TARGETS_FILE and CLASSIFICATION_FILE, followed as they change. Ingest runs on with an unusable
 * targets file (incidents then show why they have no target) until a good one is written.
 */
function watchConfigFiles(env: IngestEnv, logger: Logger) {
  const targets = watchConfig<Targets | Error>(env.TARGETS_FILE, targetsParser(env.TOPOLOGY_LABELS), {
    logger,
    what: 'TARGETS_FILE',
    ErrorClass: TargetsError,
    withoutFile: (error) => {
      logger.error({ err: error.message }, 'targets file unusable; incidents show no targets');
      return error;
    },
  });
  const classification = env.CLASSIFICATION_FILE
    ? watchConfig(env.CLASSIFICATION_FILE, parseClassifier, { logger, what: 'CLASSIFICATION_FILE' })
    : undefined;
  const watched = {
    TARGETS_FILE: targets,
    ...(classification ? { CLASSIFICATION_FILE: classification } : {}),
  };
  const classifier: Current<Classifier> = classification ?? { current: createClassifier() };
  return { targets, classifier, watched };
}

type IngestQueues = ReturnType<typeof openQueues>;

/** Ingest's own queues, and every queue it shows in Bull Board and the depth metrics (in pipeline order). */
function openQueues(redis: RedisConnection, keys: Keyspace, logger: Logger) {
  const triage = createQueue<TriageJob>(QUEUE.triage, redis, keys.bullPrefix);
  const actions = createQueue<ActionJob>(QUEUE.actions, redis, keys.bullPrefix);
  const notifications = createQueue<NotificationJob>(QUEUE.notifications.ingest, redis, keys.bullPrefix);
  // The other services' queues, only looked at.
  const observe = (name: QueueName) => createQueue(name, redis, keys.bullPrefix, { observer: true });
  const all = [
    triage,
    observe(QUEUE.agentActions),
    actions,
    notifications,
    observe(QUEUE.notifications.triage),
    observe(QUEUE.notifications.executor),
    observe(QUEUE.emailDigest),
  ];
  for (const queue of all) queue.on('error', (error) => logger.debug({ err: error.message }, 'queue error'));
  return { triage, actions, notifications, all };
}

/** The executor's answers to humans' requests arrive as events on its queue, on a connection of their own. */
async function openExecutorClient(
  env: IngestEnv,
  keys: Keyspace,
  actions: IngestQueues['actions'],
  logger: Logger,
) {
  const connection = createRedis(env, 'blocking');
  connection.on('error', (error) => logger.debug({ err: error.message }, 'redis connection error'));
  const events = createQueueEvents(QUEUE.actions, connection, keys.bullPrefix);
  events.on('error', (error) => logger.debug({ err: error.message }, 'queue events error'));
  await events.waitUntilReady();
  return {
    client: new ExecutorClient(actions, events),
    async close() {
      await events.close();
      connection.disconnect();
    },
  };
}

function createIntake(
  env: IngestEnv,
  redis: RedisConnection,
  keys: Keyspace,
  queues: IngestQueues,
  metrics: Metrics,
  classifier: Current<Classifier>,
  fleets: Fleets,
): Intake {
  return new Intake({
    redis,
    keys,
    triageQueue: queues.triage,
    notificationQueue: queues.notifications,
    classifier: { level: (labels) => classifier.current.level(labels) },
    correlate: createCorrelator(env.CORRELATION_LABELS),
    settings: {
      stormThreshold: env.STORM_THRESHOLD,
      stormWindowSeconds: env.STORM_WINDOW_SECONDS,
      stormTriageBudget: env.STORM_TRIAGE_BUDGET,
      dedupTtlSeconds: env.DEDUP_TTL_SECONDS,
      dedupCacheSize: env.DEDUP_CACHE_SIZE,
      timelineAlertCap: TIMELINE_ALERT_CAP,
    },
    metrics,
    fleets,
  });
}

/** Says at start who may use ingest: warns where only this machine may. */
function announceCredentials(env: IngestEnv, users: readonly NamedUser[], logger: Logger): void {
  if (!env.INGEST_TOKEN)
    logger.warn('INGEST_TOKEN is not set: the webhook accepts unauthenticated posts from this machine only');
  if (!env.ADMIN_TOKEN && users.length === 0)
    logger.warn(
      'neither ADMIN_TOKEN nor USERS_FILE is set: the API, console and Bull Board are open to this machine only',
    );
  else logger.info({ users: users.length, breakGlass: Boolean(env.ADMIN_TOKEN) }, 'credentials loaded');
}

/** Listens on PORT and HOST; the base URL it answers on. */
async function listen(server: Server, env: IngestEnv): Promise<string> {
  server.listen(env.PORT, env.HOST);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const host = env.HOST === '0.0.0.0' ? '127.0.0.1' : env.HOST;
  return `http://${host}:${address.port}`;
}
