import type { IncidentStore } from '../../shared/incidents.js';
import { type Located, locate, scopeOf } from '../../shared/targets/scope.js';
import type { Targets } from '../../shared/targets/targets.js';
import type { ToolPolicy } from './policy.js';

/**
 * Where a state-changing action may act: derived from the incident's stored alerts, never from the
 * requester. `host` and `service` arguments only select among the places the alerts name; anything
 * else is out of scope and refused.
 */
export class ActionPlacer {
  constructor(
    private readonly targets: Targets,
    private readonly incidents: IncidentStore,
  ) {}

  async place(incidentId: string, tool: ToolPolicy, args: Record<string, unknown>): Promise<Located> {
    const alerts = await this.incidents.storedAlerts(incidentId);
    const scope = scopeOf(
      this.targets,
      alerts.map((alert) => alert.labels),
    );
    return locate(scope, {
      host: typeof args.host === 'string' ? args.host : undefined,
      resource: typeof args.service === 'string' ? args.service : undefined,
      needsResource: Boolean(tool.args?.service),
    });
  }
}
