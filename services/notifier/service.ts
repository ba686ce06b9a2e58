import { type Job, Worker } from 'bullmq';
import { type Current, type WatchedConfig, watchConfig } from '../../shared/config-reload.js';
import { publishConfigVersions } from '../../shared/config-versions.js';
import { IncidentStore } from '../../shared/incidents.js';
import { keyspace } from '../../shared/keys.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { createMetrics, type Metrics } from '../../shared/metrics.js';
import { NotificationOutbox } from '../../shared/outbox.js';
import { startPeriodic } from '../../shared/periodic.js';
import { createQueue, NOTICE_SOURCES, QUEUE } from '../../shared/queues.js';
import { createRedis, waitForRedis } from '../../shared/redis.js';
import { createChannels } from './channels/registry.js';
import type { NotifierEnv } from './env.js';
import { createNotificationProcessor } from './processor.js';
import { DEFAULT_ROUTES, parseRoutes, type RouteRule } from './routing.js';

/** Name of the repeatable job that sends the email digest (EMAIL_MODE=digest). */
export const EMAIL_DIGEST_JOB = 'email_digest';

export async function startNotifier(
  env: NotifierEnv,
  deps: { logger?: Logger; metrics?: Metrics } = {},
): Promise<{ close(): Promise<void>; metrics: Metrics }> {
  const logger = deps.logger ?? createLogger('notifier', env.LOG_LEVEL);
  const metrics = deps.metrics ?? createMetrics('notifier');
  const keys = keyspace(env.HERMES_PREFIX);
  // The routes file is followed as it changes; without one, the defaults.
  const routesFile = env.NOTIFIER_ROUTES_FILE
    ? watchConfig(env.NOTIFIER_ROUTES_FILE, parseRoutes, { logger, what: 'NOTIFIER_ROUTES_FILE' })
    : undefined;
  const rules: Current<RouteRule[]> = routesFile ?? { current: DEFAULT_ROUTES };
  const redis = createRedis(env, 'command');
  const blocking = createRedis(env, 'blocking');
  for (const connection of [redis, blocking]) {
    connection.on('error', (error: Error) => logger.warn({ error: error.message }, 'redis connection error'));
  }
  const channels = createChannels(env, { redis, keys, logger });
  const sourceQueues = NOTICE_SOURCES.map((source) => ({
    source,
    queue: createQueue(QUEUE.notifications[source], redis, keys.bullPrefix),
  }));
  const digestQueue = createQueue(QUEUE.emailDigest, redis, keys.bullPrefix);
  const queues = [...sourceQueues.map(({ queue }) => queue), digestQueue];
  try {
    await waitForRedis(redis);
    if (channels.email && env.EMAIL_MODE === 'digest') {
      await digestQueue.upsertJobScheduler(
        EMAIL_DIGEST_JOB,
        { every: env.EMAIL_DIGEST_MINUTES * 60_000 },
        { name: EMAIL_DIGEST_JOB },
      );
    } else {
      await digestQueue.removeJobScheduler(EMAIL_DIGEST_JOB);
    }
    const watched: Record<string, WatchedConfig<unknown>> = routesFile
      ? { NOTIFIER_ROUTES_FILE: routesFile }
      : {};
    await publishConfigVersions(redis, keys, 'notifier', { watched }, logger);
  } catch (error) {
    routesFile?.close();
    await Promise.all(queues.map((queue) => queue.close()));
    await channels.close();
    redis.disconnect();
    blocking.disconnect();
    throw error;
  }

  const deliver = createNotificationProcessor({
    channels,
    rules,
    incidents: new IncidentStore(redis, keys),
    redis,
    keys,
    logger,
    metrics,
    // A channel's 429 holds back every source's deliveries, not only the one that met it.
    rateLimit: async (ms) => {
      await Promise.all(workers.map((worker) => worker.rateLimit(ms)));
    },
  });
  const workerOptions = {
    connection: blocking,
    prefix: keys.bullPrefix,
    concurrency: env.NOTIFIER_CONCURRENCY,
    // Manual rate limiting after a 429 needs a limiter; this one also caps the delivery rate.
    limiter: { max: env.NOTIFIER_MAX_PER_SECOND, duration: 1_000 },
  };
  const workers: Worker[] = sourceQueues.map(
    ({ source }) =>
      new Worker(QUEUE.notifications[source], (job: Job) => deliver(job, source), workerOptions),
  );
  const digestWorker = new Worker(
    QUEUE.emailDigest,
    async () => {
      const sent = (await channels.email?.flushDigest()) ?? 0;
      if (sent > 0) logger.info({ notifications: sent }, 'email digest sent');
      return { sent };
    },
    { connection: blocking, prefix: keys.bullPrefix },
  );
  for (const worker of [...workers, digestWorker]) {
    worker.on('failed', (job, error) => {
      logger.warn(
        { jobId: job?.id, attemptsMade: job?.attemptsMade, error: error.message },
        'notification job failed',
      );
    });
    worker.on('error', (error) => logger.error({ err: error }, 'notifier worker error'));
    await worker.waitUntilReady();
  }
  const outboxes = sourceQueues.map(
    ({ source, queue }) => new NotificationOutbox(redis, keys, source, queue),
  );
  const relayMs = env.OUTBOX_RELAY_SECONDS * 1000;
  const relay = startPeriodic(
    async () => {
      for (const outbox of outboxes) {
        const relayed = await outbox.relay(relayMs, logger);
        if (relayed > 0)
          logger.warn(
            { notifications: relayed, source: outbox.source },
            'queued notices a crashed process left',
          );
      }
    },
    relayMs,
    logger,
    'outbox relay',
  );
  logger.info({ concurrency: env.NOTIFIER_CONCURRENCY }, 'notifier started');

  return {
    metrics,
    async close() {
      routesFile?.close();
      await relay.stop();
      await Promise.all([...workers, digestWorker].map((worker) => worker.close()));
      await Promise.all(queues.map((queue) => queue.close()));
      await channels.close();
      await Promise.all([redis.quit(), blocking.quit()]);
    },
  };
}
