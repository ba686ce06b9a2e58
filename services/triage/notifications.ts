import type { Queue } from 'bullmq';
import { enqueueNotification } from '../../shared/notify.js';
import type { IncidentSummary } from '../../shared/schemas/incident.js';
import type { NotificationEvent } from '../../shared/schemas/jobs.js';

/** One notification per incident transition; the eventId makes a retried job's re-send a no-op. */
export async function notifyTransition(
  queue: Queue,
  incident: IncidentSummary,
  event: NotificationEvent,
  severity: 'info' | 'warning' | 'critical',
  text: string,
  round: string,
): Promise<void> {
  await enqueueNotification(queue, {
    eventId: `${incident.id}-${event}-${round}`.slice(0, 100),
    incidentId: incident.id,
    event,
    severity,
    title: `[${incident.alertname}] ${incident.instance}: ${event.replace('_', ' ')}`,
    text: text.slice(0, 10_000),
    details: { level: incident.level, service: incident.service, severity: incident.severity },
  });
}
