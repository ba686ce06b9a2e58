import type { IncidentSummary } from './schemas/incident.js';

/**
 * An incident in words for sentences and titles: "HighLatency on api-server-03", else the service
 * ("HighLatency on checkout"), else the alertname alone — never "HighLatency on " with nothing after.
 */
export function describeIncident(
  incident: Pick<IncidentSummary, 'alertname' | 'instance' | 'service'>,
): string {
  const where = incident.instance || incident.service;
  return where ? `${incident.alertname} on ${where}` : incident.alertname;
}
