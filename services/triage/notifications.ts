import { describeIncident } from '../../shared/describe-incident.js';
import type { IncidentSummary } from '../../shared/schemas/incident.js';
import type { NotificationEvent, NotificationJob } from '../../shared/schemas/jobs.js';

/** The notification announcing an incident transition; its eventId makes a re-send a no-op. */
export function transitionNotice(
  incident: IncidentSummary,
  event: NotificationEvent,
  severity: 'info' | 'warning' | 'critical',
  text: string,
  round: string,
): NotificationJob {
  return {
    eventId: `${incident.id}-${event}-${round}`.slice(0, 100),
    incidentId: incident.id,
    event,
    severity,
    title: `${describeIncident(incident)}: ${event.replace('_', ' ')}`,
    text: text.slice(0, 10_000),
    details: { level: incident.level, service: incident.service, severity: incident.severity },
  };
}
