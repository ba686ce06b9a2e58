import { verificationProgress } from '../../../shared/notices.js';
import type { Approval } from '../../../shared/schemas/approval.js';
import {
  type IncidentStatus,
  type IncidentSummary,
  SEVERITY_RANK,
} from '../../../shared/schemas/incident.js';

/** Statuses in which an incident waits for a human: the console lists these first. */
export const NEEDS_HUMAN: readonly IncidentStatus[] = ['escalated', 'failed', 'awaiting_approval'];

/** What one line of an incident list says about an incident. */
export interface IncidentRow {
  incident: IncidentSummary;
  /** Where it is, short: from its target when known, else its service and host. */
  where: string;
  /** Where it is in the executor's words (`… via ssh (target fleet)`), when known. */
  whereDetail?: string | undefined;
  /** One line: what is happening or what a human is asked. */
  summary: string;
}

const SUMMARY_MAX = 240;

/** The service and host the alert names: `checkout on web-01:9100`. */
export function labelledWhere(incident: IncidentSummary): string {
  const { service, instance } = incident;
  if (service && instance) return `${service} on ${instance}`;
  return service || instance || '—';
}

/** The first line of what triage said, the approval it waits for, or the alert's own words. */
export function oneLineSummary(incident: IncidentSummary, pending?: Approval): string {
  if (incident.verification) return `fix ran; ${verificationProgress(incident.verification)}`;
  if (pending) return `approve? ${firstLine(pending.description ?? '') || pending.tool}`;
  const text = incident.summary ?? incident.annotations.summary ?? incident.annotations.description ?? '';
  const line = firstLine(text);
  return line.length > SUMMARY_MAX ? `${line.slice(0, SUMMARY_MAX - 1)}…` : line;
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((line) => line.trim() !== '')
      ?.trim() ?? ''
  );
}

/**
 * Who needs a human most comes first: nobody has taken it, a storm, escalated or failed before
 * awaiting approval, the higher level, the more severe, the newer.
 */
export function byUrgency(a: IncidentSummary, b: IncidentSummary): number {
  const key = (i: IncidentSummary) => [
    i.acknowledgedBy ? 1 : 0,
    i.storm ? 0 : 1,
    i.status === 'awaiting_approval' ? 1 : 0,
    -i.level,
    SEVERITY_RANK[i.severity] ?? 3,
    -Date.parse(i.createdAt),
  ];
  const [ka, kb] = [key(a), key(b)];
  for (let i = 0; i < ka.length; i++) {
    const diff = (ka[i] as number) - (kb[i] as number);
    if (diff !== 0) return diff;
  }
  return 0;
}
