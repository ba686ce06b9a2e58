import type { IncidentStore } from '../../shared/incidents.js';
import type { ContainerIdentity } from '../../shared/remote/docker.js';
import type { ScopedPlacement } from '../../shared/targets/drivers/placement.js';
import {
  type IncidentScope,
  incidentScope,
  type Located,
  locate,
  resolvedContainer,
} from '../../shared/targets/scope.js';
import type { Targets } from '../../shared/targets/targets.js';
import type { ToolPolicy } from './policy.js';

/** A docker target's container (name, id or unique id prefix) as its engine resolves it, or why not. */
export interface Containers {
  container(target: string, container: string): Promise<ContainerIdentity | string>;
}

/**
 * Where a state-changing action may act: derived from the incident's stored alerts, never from the
 * requester. `host` and `service` arguments only select among the places the alerts name; anything
 * else is out of scope and refused.
 */
export class ActionPlacer {
  constructor(
    private readonly targets: Targets,
    private readonly incidents: IncidentStore,
    private readonly containers: Containers,
  ) {}

  /** The incident's scope (one read of its stored alerts): asked early, with the decision's other reads. */
  async scope(incidentId: string): Promise<IncidentScope> {
    return incidentScope(this.targets, this.incidents, incidentId);
  }

  /** Where in the incident's `alerted` scope (see `scope`) the action may act, or why nowhere. */
  async place(alerted: IncidentScope, tool: ToolPolicy, args: Record<string, unknown>): Promise<Located> {
    const { scope, unresolved } = await this.resolveContainers(alerted);
    const service = typeof args.service === 'string' ? args.service : undefined;
    const located = locate(scope, {
      host: typeof args.host === 'string' ? args.host : undefined,
      resource: service === undefined ? undefined : await this.containerName(scope, service),
      needsResource: Boolean(tool.args?.service),
    });
    if (!located.ok || located.placement.kind !== 'docker' || located.placement.containerId) return located;
    const reason = unresolved.get(located.placement);
    return reason ? { ok: false, reason } : located;
  }

  /**
   * Docker resolves any unique id prefix to a container, so a label's text is not its identity: each
   * container in scope becomes its name and full id, asked of its engine once per action.
   */
  private async resolveContainers(
    scope: IncidentScope,
  ): Promise<{ scope: IncidentScope; unresolved: Map<ScopedPlacement, string> }> {
    const unresolved = new Map<ScopedPlacement, string>();
    const entries = await Promise.all(
      scope.entries.map(async (entry) => {
        if (entry.kind !== 'docker' || entry.resource === null) return entry;
        const identity = await this.containers.container(entry.target, entry.resource);
        if (typeof identity !== 'string') return resolvedContainer(entry, identity);
        unresolved.set(entry, identity);
        return entry;
      }),
    );
    // Two labels for one container (its name, an id prefix) are one place.
    const distinct = new Map(
      entries.map((entry) => [
        `${entry.target}\n${entry.host}\n${entry.containerId ?? entry.resource}`,
        entry,
      ]),
    );
    return { scope: { ...scope, entries: [...distinct.values()] }, unresolved };
  }

  /** A `service` that is one of the scope's containers by another name or id prefix becomes its name. */
  private async containerName(scope: IncidentScope, service: string): Promise<string> {
    const containers = scope.entries.filter((entry) => entry.containerId !== undefined);
    if (containers.length === 0 || containers.some((entry) => entry.resource === service)) return service;
    for (const target of new Set(containers.map((entry) => entry.target))) {
      const identity = await this.containers.container(target, service);
      if (typeof identity === 'string') continue;
      const same = containers.find((entry) => entry.target === target && entry.containerId === identity.id);
      if (same?.resource) return same.resource;
    }
    return service;
  }
}
