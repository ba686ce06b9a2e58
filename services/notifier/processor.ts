import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { z } from 'zod';
import type { Current } from '../../shared/config-reload.js';
import type { IncidentStore } from '../../shared/incidents.js';
import type { Keyspace } from '../../shared/keys.js';
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import type { NoticeSource } from '../../shared/queues.js';
import type { RedisConnection } from '../../shared/redis.js';
import { type Channel, NOTICE_EVENTS, notificationJobSchema } from '../../shared/schemas/jobs.js';
import type { Channels } from './channels/registry.js';
import { DeliveryError } from './delivery-error.js';
import { type RouteRule, route } from './routing.js';
import type { Delivery, Notification } from './types.js';

/** Per (eventId, channel) outcome markers live as long as failed jobs are kept. */
const DONE_TTL_SECONDS = 30 * 24 * 3600;
/**
 * Rate-limited runs do not spend attempts; after this many for one job, a 429 counts as an ordinary
 * failure (backoff, attempts) so a channel that never stops answering 429 cannot hold the queue forever.
 */
export const MAX_RATE_LIMITED_RUNS = 20;

export interface ProcessorDeps {
  channels: Channels;
  /** The routing rules in force (NOTIFIER_ROUTES_FILE as last loaded, or the defaults). */
  rules: Current<RouteRule[]>;
  incidents: IncidentStore;
  redis: RedisConnection;
  keys: Keyspace;
  logger: Logger;
  metrics: Metrics;
  /** Pauses the whole queue (BullMQ manual rate limit) for this many ms. */
  rateLimit(ms: number): Promise<void>;
}

type Outcome =
  | { channel: Channel; state: 'done' | 'failed' }
  | { channel: Channel; state: 'transient' | 'rate_limited'; error: DeliveryError };

/** What a member of a fleet incident is still told of on its own: a human's question is per incident. */
const FLEET_MEMBER_EVENTS: ReadonlySet<string> = new Set(['approval_requested', 'approval_decided']);

/** A notice about a member of a fleet incident that the fleet's one page speaks for. */
function coveredByFleet(delivery: Delivery): boolean {
  return Boolean(delivery.incident?.fleetIncident) && !FLEET_MEMBER_EVENTS.has(delivery.notification.event);
}

/** Which channels a notification goes to: explicit ones, else the routing rules; console when nothing is set up. */
export function targetChannels(
  deps: Pick<ProcessorDeps, 'channels' | 'rules'>,
  delivery: Delivery,
): Channel[] {
  if (!deps.channels.anyExternal) return ['console'];
  const channels = [...new Set(wantedChannels(deps, delivery))].filter((channel) =>
    deps.channels.byName.has(channel),
  );
  return coveredByFleet(delivery) ? channels.filter((channel) => channel === 'console') : channels;
}

function wantedChannels(deps: Pick<ProcessorDeps, 'rules'>, delivery: Delivery): Channel[] {
  const { notification, incident } = delivery;
  return (
    notification.channels ??
    route(deps.rules.current, {
      event: notification.event,
      severity: notification.severity,
      level: incident?.level,
      storm: incident?.storm ?? false,
    })
  );
}

/**
 * Delivers one notification to each of its channels. A channel that already succeeded (or failed for
 * good) for this eventId is never sent again, so a retried job only re-tries the channels that need it.
 */
export function createNotificationProcessor(deps: ProcessorDeps) {
  const { logger, metrics } = deps;

  async function record(delivery: Delivery, channel: Channel, result: string, error?: string): Promise<void> {
    metrics.notifications.inc({ channel, result });
    if (!delivery.incident) return;
    await deps.incidents.appendTimeline(delivery.notification.incidentId, {
      type: 'notification',
      channel,
      event: delivery.notification.event,
      eventId: delivery.notification.eventId,
      result,
      ...(error ? { error } : {}),
    });
  }

  async function deliverTo(
    channel: Channel,
    delivery: Delivery,
    run: { lastAttempt: boolean; mayRateLimit: boolean },
  ): Promise<Outcome> {
    const doneKey = deps.keys.notify(`done:${delivery.notification.eventId}:${channel}`);
    const previous = await deps.redis.get(doneKey);
    if (previous) return { channel, state: previous === 'failed' ? 'failed' : 'done' };
    const target = deps.channels.byName.get(channel);
    if (!target) return { channel, state: 'done' };
    const log = {
      eventId: delivery.notification.eventId,
      incidentId: delivery.notification.incidentId,
      channel,
    };
    try {
      const result = await target.deliver(delivery);
      await deps.redis.set(doneKey, result.result, 'EX', DONE_TTL_SECONDS);
      if (result.result === 'skipped') {
        metrics.notifications.inc({ channel, result: 'skipped' });
        logger.debug({ ...log, detail: result.detail }, 'notification skipped');
      } else {
        await record(delivery, channel, result.result);
        logger.info({ ...log, result: result.result, detail: result.detail }, 'notification delivered');
      }
      return { channel, state: 'done' };
    } catch (caught) {
      let error =
        caught instanceof DeliveryError
          ? caught
          : new DeliveryError('transient', `${channel}: ${(caught as Error).message ?? String(caught)}`);
      if (error.kind === 'rate_limited' && !run.mayRateLimit)
        error = new DeliveryError('transient', error.message);
      if (error.kind === 'permanent' || (error.kind === 'transient' && run.lastAttempt)) {
        await deps.redis.set(doneKey, 'failed', 'EX', DONE_TTL_SECONDS);
        await record(delivery, channel, 'failed', error.message);
        logger.error({ ...log, error: error.message, kind: error.kind }, 'notification failed');
        return { channel, state: 'failed' };
      }
      metrics.notifications.inc({
        channel,
        result: error.kind === 'rate_limited' ? 'rate_limited' : 'retry',
      });
      logger.warn(
        { ...log, error: error.message, retryAfterMs: error.retryAfterMs },
        'notification will be retried',
      );
      return { channel, state: error.kind, error };
    }
  }

  /** A member's timeline says, once per notice it would have had, why it was not paged. */
  async function noteNotPaged(delivery: Delivery): Promise<void> {
    const { notification, incident } = delivery;
    if (!deps.channels.anyExternal || wantedChannels(deps, delivery).every((c) => c === 'console')) return;
    const once = deps.keys.notify(`done:${notification.eventId}:fleet`);
    if ((await deps.redis.set(once, '1', 'EX', DONE_TTL_SECONDS, 'NX')) === null) return;
    metrics.notifications.inc({ channel: 'none', result: 'fleet' });
    await deps.incidents.appendTimeline(notification.incidentId, {
      type: 'notification',
      event: notification.event,
      eventId: notification.eventId,
      result: 'not_paged',
      message: `not paged: part of fleet incident ${incident?.fleetIncident} which paged once`,
    });
  }

  /** `source`: the service whose queue the job came on (only it can write there). */
  return async function process(
    job: Job,
    source: NoticeSource,
  ): Promise<{ channels: Record<string, string> }> {
    const parsed = notificationJobSchema.safeParse(job.data);
    if (!parsed.success) {
      const reason = `invalid notification job ${job.id}: ${z.prettifyError(parsed.error)}`;
      logger.error({ jobId: job.id, name: job.name, source }, reason);
      throw new UnrecoverableError(reason);
    }
    const notification: Notification = parsed.data;
    if (!NOTICE_EVENTS[source].includes(notification.event)) {
      const reason = `refused notification ${job.id}: ${source} may not announce ${notification.event}`;
      metrics.notifications.inc({ channel: 'none', result: 'refused' });
      logger.error({ jobId: job.id, incidentId: notification.incidentId, source }, reason);
      throw new UnrecoverableError(reason);
    }
    const delivery: Delivery = {
      notification,
      incident: await deps.incidents.getSummary(notification.incidentId),
    };
    if (coveredByFleet(delivery)) await noteNotPaged(delivery);
    const run = {
      lastAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
      mayRateLimit: job.attemptsStarted - job.attemptsMade <= MAX_RATE_LIMITED_RUNS,
    };
    const outcomes = await Promise.all(
      targetChannels(deps, delivery).map((channel) => deliverTo(channel, delivery, run)),
    );

    const limited = outcomes.flatMap((o) => (o.state === 'rate_limited' ? [o.error.retryAfterMs ?? 0] : []));
    if (limited.length > 0) {
      await deps.rateLimit(Math.max(1, ...limited));
      throw Worker.RateLimitError();
    }
    const transient = outcomes.flatMap((o) => (o.state === 'transient' ? [o.error.message] : []));
    if (transient.length > 0) throw new Error(transient.join('; '));
    const failed = outcomes.filter((o) => o.state === 'failed').map((o) => o.channel);
    if (failed.length > 0) throw new UnrecoverableError(`delivery failed for good on ${failed.join(', ')}`);
    return { channels: Object.fromEntries(outcomes.map((o) => [o.channel, o.state])) };
  };
}
