import type { IncidentStore } from '../incidents.js';
import { incidentScope } from './scope.js';
import { describePlacement, type Placement, type Targets } from './targets.js';

export interface IncidentTargets {
  /** Each place the incident's alerts name, with the words every decision uses for it. */
  targets: (Placement & { description: string; placement: Pick<Placement, 'region' | 'zone'> })[];
  /** Why some alerts have no target (or why targets are unknown here). */
  unplaced: string[];
}

/** Where an incident is, for people: the API, the console and the CLI show this. */
export async function incidentTargets(
  store: IncidentStore,
  targets: Targets | Error,
  incidentId: string,
): Promise<IncidentTargets> {
  if (targets instanceof Error) return { targets: [], unplaced: [`targets unknown: ${targets.message}`] };
  const scope = await incidentScope(targets, store, incidentId);
  return {
    targets: scope.entries.map((entry) => ({
      ...entry,
      description: describePlacement(entry),
      placement: { region: entry.region, zone: entry.zone },
    })),
    unplaced: scope.unplaced,
  };
}
