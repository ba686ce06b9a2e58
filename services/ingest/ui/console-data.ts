import { z } from 'zod';
import type { ApprovalStore } from '../../../shared/approvals.js';
import type { IncidentStore } from '../../../shared/incidents.js';
import type { Approval } from '../../../shared/schemas/approval.js';
import {
  type Incident,
  type IncidentSummary,
  incidentStatusSchema,
} from '../../../shared/schemas/incident.js';
import { incidentTargets } from '../../../shared/targets/incident-targets.js';
import { describePlacementShort, type Targets } from '../../../shared/targets/targets.js';
import { byUrgency, type IncidentRow, labelledWhere, NEEDS_HUMAN, oneLineSummary } from './incident-rows.js';
import type { IncidentFilter } from './views/incidents.js';

/** The list fetches this many (status filtered in Redis, level here) before rendering. */
const LIST_LIMIT = 200;
/** Incidents that need a human, per status, looked at for the top of the console. */
const NEEDS_HUMAN_LIMIT = 50;
/** How many of them the top shows (their targets are read for each); the full list has the rest. */
const NEEDS_HUMAN_SHOWN = 20;

export const filterSchema = z.object({
  status: z.union([z.literal('').transform(() => undefined), incidentStatusSchema]).optional(),
  level: z
    .union([
      z.literal('').transform(() => undefined),
      z.enum(['1', '2', '3']).transform((l) => Number(l) as 1 | 2 | 3),
    ])
    .optional(),
  /** Words every shown incident contains (id, alert, service, instance, status, owner, summary). */
  q: z
    .string()
    .max(200)
    .transform((q) => q.trim() || undefined)
    .optional(),
});

/** Whether an incident matches every word of a search, case-insensitively. */
export function matchesSearch(incident: IncidentSummary, q: string | undefined): boolean {
  if (!q) return true;
  const haystack = [
    incident.id,
    incident.alertname,
    incident.service,
    incident.instance,
    incident.status,
    incident.severity,
    incident.acknowledgedBy ?? '',
    incident.summary ?? '',
  ]
    .join(' ')
    .toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .every((word) => haystack.includes(word));
}

export async function listIncidents(
  incidents: IncidentStore,
  filter: IncidentFilter,
): Promise<{ rows: IncidentRow[]; truncated: boolean }> {
  const page = await incidents.list({ status: filter.status, limit: LIST_LIMIT });
  return {
    rows: page.incidents
      .filter((i) => (!filter.level || i.level === filter.level) && matchesSearch(i, filter.q))
      .map((incident) => ({
        incident,
        where: labelledWhere(incident),
        summary: oneLineSummary(incident),
      })),
    truncated: page.nextCursor !== null,
  };
}

/**
 * Incidents waiting for a human (escalated, failed, awaiting approval), most urgent first, each with
 * where it is (from its target) and the approval it waits for.
 */
export async function needingAHuman(
  incidents: IncidentStore,
  targets: Targets | Error,
  pending: Approval[],
): Promise<{ rows: IncidentRow[]; more: number }> {
  const pages = await Promise.all(
    NEEDS_HUMAN.map((status) => incidents.list({ status, limit: NEEDS_HUMAN_LIMIT })),
  );
  const waiting = pages.flatMap((page) => page.incidents).sort(byUrgency);
  const rows = await Promise.all(
    waiting.slice(0, NEEDS_HUMAN_SHOWN).map(async (incident) => {
      const [target] = (await incidentTargets(incidents, targets, incident.id)).targets;
      return {
        incident,
        where: target ? describePlacementShort(target) : labelledWhere(incident),
        whereDetail: target?.description,
        summary: oneLineSummary(
          incident,
          pending.find((a) => a.incidentId === incident.id),
        ),
      };
    }),
  );
  return { rows, more: waiting.length - rows.length };
}

/** Every approval this incident asked for (pending and decided), oldest first. */
export async function approvalsFor(approvals: ApprovalStore, incident: Incident): Promise<Approval[]> {
  const ids = new Set<string>();
  for (const entry of incident.timeline) if (typeof entry.approvalId === 'string') ids.add(entry.approvalId);
  for (const action of incident.actions) if (action.approvalId) ids.add(action.approvalId);
  for (const pending of await approvals.listPending())
    if (pending.incidentId === incident.id) ids.add(pending.id);
  const found = await Promise.all([...ids].map((id) => approvals.get(id)));
  return found
    .filter((a): a is Approval => a !== null && a.incidentId === incident.id)
    .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
}
