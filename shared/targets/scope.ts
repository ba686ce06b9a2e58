import type { IncidentStore } from '../incidents.js';
import { hostOfInstance } from '../names.js';
import type { Placement, PlacementResult, ScopedPlacement } from './drivers/placement.js';
import { describePlacement, hostAliases } from './targets.js';

/** The (target, resource) pairs an incident's alerts name; the only places its tools may touch. */
export interface IncidentScope {
  entries: ScopedPlacement[];
  /** Why some alerts have no target (deduplicated), for refusals that explain themselves. */
  unplaced: string[];
}

/** Places alerts on targets (Targets). */
export interface Placer {
  place(labels: Readonly<Record<string, string>>): PlacementResult;
}

/** An incident's scope, for triage, the executor and people alike: one read of its stored alerts. */
export async function incidentScope(
  placer: Placer,
  store: Pick<IncidentStore, 'storedAlerts'>,
  incidentId: string,
): Promise<IncidentScope> {
  const alerts = await store.storedAlerts(incidentId);
  return scopeOf(
    placer,
    alerts.map((alert) => alert.labels),
  );
}

export function scopeOf(
  placer: Placer,
  alertLabels: Iterable<Readonly<Record<string, string>>>,
): IncidentScope {
  const entries = new Map<string, ScopedPlacement>();
  const unplaced = new Set<string>();
  for (const labels of alertLabels) {
    const result = placer.place(labels);
    if (!result.ok) {
      unplaced.add(result.reason);
      continue;
    }
    const { placement } = result;
    entries.set(`${placement.target}\n${placement.host}\n${placement.resource ?? ''}`, scoped(placement));
  }
  return { entries: [...entries.values()], unplaced: [...unplaced] };
}

/** A docker entry once its engine said which container its label is: its name and full id. */
export function resolvedContainer(
  entry: ScopedPlacement,
  identity: { name: string; id: string },
): ScopedPlacement {
  return scoped({ ...entry, resource: identity.name, containerId: identity.id });
}

/** The only way to a ScopedPlacement: a place derived here from an incident's alerts. */
function scoped(placement: Placement): ScopedPlacement {
  return placement as ScopedPlacement;
}
export function describeScope(scope: IncidentScope): string {
  if (scope.entries.length === 0) return 'nothing (no target)';
  return scope.entries.map((entry) => describePlacement(entry)).join('; ');
}

export type Located = { ok: true; placement: ScopedPlacement } | { ok: false; reason: string };

/**
 * The one scope entry a request names. `host` may be given as the target host, the alert's instance
 * or the instance without its port; omitted, it matches any entry (so a one-host incident needs none).
 */
export function locate(
  scope: IncidentScope,
  request: { host?: string | undefined; resource?: string | undefined; needsResource?: boolean },
): Located {
  if (scope.entries.length === 0)
    return {
      ok: false,
      reason: `no target for this incident: ${scope.unplaced.join('; ') || 'it holds no alerts'}`,
    };
  const host = request.host?.toLowerCase();
  const candidates = scope.entries.filter(
    (entry) =>
      (host === undefined ||
        [entry.host, entry.instance, hostOfInstance(entry.instance), ...hostAliases(entry)].some(
          (name) => name.toLowerCase() === host,
        )) &&
      (request.resource === undefined || entry.resource === request.resource),
  );
  const asked = [
    request.resource !== undefined ? `service ${request.resource}` : '',
    request.host !== undefined ? `host ${request.host}` : '',
  ]
    .filter(Boolean)
    .join(' on ');
  if (candidates.length === 0)
    return {
      ok: false,
      reason: `out of scope: ${asked || 'that'} is not named by this incident's alerts (scope: ${describeScope(scope)})`,
    };
  const distinct = new Set(candidates.map((c) => `${c.target}\n${c.host}\n${c.resource ?? ''}`));
  if (distinct.size > 1)
    return {
      ok: false,
      reason: `ambiguous: ${asked || 'the request'} matches ${distinct.size} places (${describeScope({ entries: candidates, unplaced: [] })}); name the host and service`,
    };
  const placement = candidates[0] as ScopedPlacement;
  if (request.needsResource && placement.resource === null)
    return {
      ok: false,
      reason: `the alerts name no service or container on ${placement.host} (no service, job or container label)`,
    };
  return { ok: true, placement };
}
