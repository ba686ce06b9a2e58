/** Follows one incident through ingest's HTTP API and prints its timeline as it grows. */
import type { Incident, TimelineEntry } from '../../shared/schemas/incident.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function getJson<T>(url: string): Promise<T | null> {
  try {
    const res = await fetch(url);
    return res.ok ? ((await res.json()) as T) : null;
  } catch {
    return null;
  }
}

/** The newest incident whose instance is `instance`, once there is one. */
export async function waitForIncident(api: string, instance: string, deadline: number): Promise<Incident> {
  while (Date.now() < deadline) {
    const list = await getJson<{ incidents: Incident[] }>(`${api}/api/incidents?limit=20`);
    const found = list?.incidents.find((incident) => incident.instance === instance);
    if (found) return found;
    await sleep(500);
  }
  throw new Error(`no incident for ${instance} within the time allowed`);
}

/** One timeline entry in a line: what happened, to what, with which outcome, in its own words. */
function line(entry: TimelineEntry): string {
  const field = (name: string) => (typeof entry[name] === 'string' ? (entry[name] as string) : undefined);
  const parts = [entry.type.padEnd(12), entry.tool, field('status')];
  if (entry.type === 'notification')
    parts.push(`${field('event')} via ${field('channel')}: ${field('result')}`);
  if (field('decision')) parts.push(`→ ${field('decision')}`);
  else if (entry.ok === false) parts.push('→ failed');
  const words = entry.message ?? field('reason');
  if (words) parts.push(words.replace(/\s+/g, ' ').slice(0, 220));
  return parts.filter(Boolean).join('  ');
}

/**
 * Prints each new timeline entry until the incident is resolved with triage's verdict on the fix
 * (Alertmanager's resolve may come first), or escalated or failed. Returns the incident as it ended.
 */
export async function followIncident(
  api: string,
  id: string,
  /** Times are printed from here (the crash). */
  since: number,
  deadline: number,
  print: (text: string) => void,
): Promise<Incident> {
  let shown = 0;
  let status: string;
  while (Date.now() < deadline) {
    const incident = await getJson<Incident>(`${api}/api/incidents/${id}`);
    if (incident) {
      for (const entry of incident.timeline.slice(shown)) {
        const at = ((Date.parse(entry.at) - since) / 1000).toFixed(1);
        print(`  ${`+${at}s`.padStart(7)}  ${line(entry)}`);
      }
      shown = incident.timeline.length;
      status = incident.status;
      const verdict = incident.timeline.some(
        (entry) => entry.type === 'summary' && entry.verified !== undefined,
      );
      if ((status === 'resolved' && verdict) || status === 'escalated' || status === 'failed')
        return incident;
    }
    await sleep(500);
  }
  throw new Error(`incident ${id} did not finish within the time allowed`);
}
