import type { IncidentStore } from '../../shared/incidents.js';
import type { TriedFix } from '../../shared/notices.js';

/** The fixes under verification as the incident recorded them: what ran, and the state found before. */
export async function triedFixes(
  store: IncidentStore,
  incidentId: string,
  actionIds: readonly string[],
): Promise<TriedFix[]> {
  const records = await Promise.all(actionIds.map((id) => store.getAction(incidentId, id)));
  return records.flatMap((record) =>
    record ? [{ operation: record.operation ?? record.tool, before: record.before }] : [],
  );
}
