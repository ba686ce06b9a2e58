import type { Delivery } from './types.js';

/** The facts every channel shows, in one place so Slack, email and PagerDuty agree. */

export function levelTag(delivery: Delivery): string {
  const incident = delivery.incident;
  if (!incident) return 'Hermes';
  return incident.storm ? 'STORM' : `L${incident.level}`;
}

export function headline(delivery: Delivery): string {
  return `[${levelTag(delivery)}] ${delivery.notification.title}`;
}

export function facts(delivery: Delivery): [string, string][] {
  const { notification, incident } = delivery;
  const rows: [string, string | undefined][] = [
    ['Incident', notification.incidentId],
    ['Event', notification.event.replaceAll('_', ' ')],
    ['Level', incident ? String(incident.level) : undefined],
    ['Severity', incident?.severity || notification.severity],
    ['Status', incident?.status],
    ['Alert', incident?.alertname],
    ['Instance', incident?.instance],
    ['Service', incident?.service],
    ['Alerts', incident && incident.alertCount > 1 ? String(incident.alertCount) : undefined],
  ];
  return rows.filter((row): row is [string, string] => Boolean(row[1]));
}

/** Extra structured details (what was found, done or blocked), flattened to short strings. */
export function detailRows(delivery: Delivery, maxValue = 500): [string, string][] {
  return Object.entries(delivery.notification.details ?? {}).map(([key, value]) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return [key, truncate(text ?? '', maxValue)];
  });
}

/** Alert source and runbook links; only http(s) URLs, so a label cannot smuggle in another scheme. */
export function links(delivery: Delivery): { text: string; url: string }[] {
  const incident = delivery.incident;
  const candidates = [
    { text: 'Alert source', url: incident?.generatorURL },
    { text: 'Runbook', url: incident?.annotations.runbook_url },
    { text: 'Dashboard', url: incident?.annotations.dashboard_url },
  ];
  return candidates.filter((link): link is { text: string; url: string } => isHttpUrl(link.url));
}

function isHttpUrl(value: string | undefined): boolean {
  if (!value) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
