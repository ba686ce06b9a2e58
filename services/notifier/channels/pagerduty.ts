import type { Keyspace } from '../../../shared/keys.js';
import type { RedisConnection } from '../../../shared/redis.js';
import type { NotificationEvent } from '../../../shared/schemas/jobs.js';
import { httpError, postJson, type RetryAfterPolicy } from '../delivery-error.js';
import { detailRows, headline, links, truncate } from '../format.js';
import type { Delivery, DeliveryResult, NotificationChannel } from '../types.js';

export interface PagerDutySettings {
  routingKey: string;
  eventsUrl: string;
  timeoutMs: number;
  retryAfter: RetryAfterPolicy;
  redis: RedisConnection;
  keys: Keyspace;
}

type EventAction = 'trigger' | 'acknowledge' | 'resolve';

/** Which PagerDuty alert transition each event means. Events not listed send nothing. */
export const PAGERDUTY_ACTIONS: Partial<Record<NotificationEvent, EventAction>> = {
  incident_opened: 'trigger',
  storm_opened: 'trigger',
  fleet_opened: 'trigger',
  escalated: 'trigger',
  breaker_open: 'trigger',
  failed: 'trigger',
  // The agent (or a human) has taken the incident.
  diagnosis: 'acknowledge',
  action: 'acknowledge',
  approval_requested: 'acknowledge',
  approval_decided: 'acknowledge',
  acknowledged: 'acknowledge',
  fixed: 'resolve',
  resolved: 'resolve',
};

const SEVERITY_ORDER = ['info', 'warning', 'error', 'critical'] as const;
type PagerDutySeverity = (typeof SEVERITY_ORDER)[number];
const PAGED_TTL_SECONDS = 30 * 24 * 3600;

/** The more severe of the event's severity and the alert's own `severity` label. */
export function pagerDutySeverity(delivery: Delivery): PagerDutySeverity {
  const label = delivery.incident?.severity.toLowerCase() ?? '';
  const fromLabel = SEVERITY_ORDER.indexOf(label as PagerDutySeverity);
  const fromEvent = SEVERITY_ORDER.indexOf(delivery.notification.severity);
  return SEVERITY_ORDER[Math.max(fromLabel, fromEvent)] ?? 'warning';
}

/** Events API v2 with dedup_key = incident id, so every event for an incident acts on one alert. */
export function createPagerDutyChannel(settings: PagerDutySettings): NotificationChannel {
  return {
    name: 'pagerduty',
    async deliver(delivery): Promise<DeliveryResult> {
      const { notification, incident } = delivery;
      const action = PAGERDUTY_ACTIONS[notification.event];
      if (!action) return { result: 'skipped', detail: `no PagerDuty action for ${notification.event}` };
      const pagedKey = settings.keys.notify(`pd-paged:${notification.incidentId}`);
      if (action !== 'trigger' && !(await settings.redis.exists(pagedKey))) {
        return { result: 'skipped', detail: 'incident was not paged' };
      }
      const body: Record<string, unknown> = {
        routing_key: settings.routingKey,
        event_action: action,
        dedup_key: notification.incidentId,
        client: 'Hermes DevOps Agent',
      };
      if (action === 'trigger') {
        body.payload = {
          summary: truncate(`${headline(delivery)}: ${notification.text}`, 1024),
          source: incident?.instance || incident?.service || 'hermes',
          severity: pagerDutySeverity(delivery),
          ...(incident?.service ? { component: incident.service } : {}),
          ...(incident?.alertname ? { class: incident.alertname } : {}),
          custom_details: {
            incident_id: notification.incidentId,
            event: notification.event,
            text: notification.text,
            ...(incident
              ? {
                  level: incident.level,
                  status: incident.status,
                  alert_count: incident.alertCount,
                  labels: incident.labels,
                }
              : {}),
            ...Object.fromEntries(detailRows(delivery, 2_000)),
          },
        };
        body.links = links(delivery).map((link) => ({ href: link.url, text: link.text }));
      }
      const reply = await postJson(settings.eventsUrl, body, {
        timeoutMs: settings.timeoutMs,
        channel: 'pagerduty',
      });
      if (reply.status !== 202)
        throw httpError('pagerduty', reply, describeError(reply.text), settings.retryAfter);
      if (action === 'trigger') await settings.redis.set(pagedKey, '1', 'EX', PAGED_TTL_SECONDS);
      if (action === 'resolve') await settings.redis.del(pagedKey);
      return { result: 'delivered', detail: action };
    },
  };
}

/** PagerDuty's `{status, message, errors}` error body as one line. */
function describeError(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; errors?: unknown };
    const errors = Array.isArray(body.errors) ? `: ${body.errors.join('; ')}` : '';
    return `${String(body.message ?? 'error')}${errors}`;
  } catch {
    return text.trim() || 'no body';
  }
}
