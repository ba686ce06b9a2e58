import { type ConfigParser, describeVersion, type WatchedConfig, watchConfig } from '../config-reload.js';
import type { Logger } from '../logger.js';
import { hostOfInstance } from '../names.js';
import { WORKLOAD_KINDS } from '../remote/kubernetes.js';
import { loadYamlConfig, parseYamlConfig } from '../yaml-config.js';
import { type Placement, type PlacementResult, TargetsError } from './drivers/placement.js';
import type { AlertValues } from './drivers/template.js';
import { DEFAULT_TOPOLOGY_LABELS, type TopologyLabels, topologyOf } from './drivers/topology.js';
import { DRIVERS, driverOf } from './registry.js';
import { type TargetConfig, type TargetKind, targetsFileSchema } from './schema.js';

export { type Placement, type PlacementResult, TargetsError } from './drivers/placement.js';

/** A place in a list's few words: `payments on pay-01 (ssh)`. */
export function describePlacementShort(placement: Placement): string {
  return DRIVERS[placement.kind as TargetKind].describeShort(placement);
}

/** "api-gateway on api-server-03 via ssh", "container web-1 on docker-host via docker". */
export function describePlacement(placement: Placement, resource = placement.resource): string {
  return DRIVERS[placement.kind as TargetKind].describe(placement, resource);
}

/** What else a request may call a place's host (a Kubernetes workload's cluster name). */
export function hostAliases(placement: Placement): string[] {
  return DRIVERS[placement.kind as TargetKind].aliases?.(placement) ?? [];
}

interface CompiledTarget {
  config: TargetConfig;
  matchers: [label: string, pattern: RegExp][];
}

interface Fleet {
  list: readonly TargetConfig[];
  compiled: CompiledTarget[];
  /** How errors name the file: `TARGETS_FILE (loaded 12:03:10, sha 3f2a9c1b…)`. */
  origin: string;
}

/** The fleet as described by TARGETS_FILE: resolves an alert's labels to the place it names. */
export class Targets {
  private fleet: Fleet;

  constructor(
    list: readonly TargetConfig[],
    origin = 'TARGETS_FILE',
    private readonly topologyLabels: TopologyLabels = DEFAULT_TOPOLOGY_LABELS,
  ) {
    this.fleet = {
      list,
      origin,
      compiled: list.map((config) => ({
        config,
        matchers: Object.entries(config.match).map(([label, source]) => [
          label,
          new RegExp(`^(?:${source})$`),
        ]),
      })),
    };
  }

  get list(): readonly TargetConfig[] {
    return this.fleet.list;
  }

  /**
   * Takes a reloaded file's fleet in one assignment: whoever holds this object places the next alert
   * on the new file, and no lookup sees half of each.
   */
  adopt(reloaded: Targets): void {
    this.fleet = reloaded.fleet;
  }

  get(name: string): TargetConfig | undefined {
    return this.fleet.list.find((target) => target.name === name);
  }

  place(labels: Readonly<Record<string, string>>): PlacementResult {
    const { compiled, origin } = this.fleet;
    const label = (name: string) => (Object.hasOwn(labels, name) ? (labels[name] as string) : '');
    const found = compiled.find(({ matchers }) =>
      matchers.every(([name, pattern]) => pattern.test(label(name))),
    );
    if (!found) return { ok: false, reason: `no target in ${origin} matches ${describeLabels(labels)}` };
    const { config } = found;
    const instance = label('instance');
    const alert: AlertValues = { host: hostOfInstance(instance), instance, label };
    try {
      const { host, resource, ...more } = driverOf(config).place(config, alert);
      return {
        ok: true,
        placement: {
          target: config.name,
          kind: config.kind,
          host,
          instance,
          resource,
          ...more,
          ...topologyOf(config.topology, alert, this.topologyLabels),
        },
      };
    } catch (error) {
      return { ok: false, reason: `target ${config.name}: ${(error as Error).message}` };
    }
  }
}

function describeLabels(labels: Readonly<Record<string, string>>): string {
  const shown = ['alertname', 'instance', 'job', 'service', 'container', 'namespace', ...WORKLOAD_KINDS]
    .filter((name) => Object.hasOwn(labels, name))
    .map((name) => `${name}=${JSON.stringify(labels[name])}`);
  return shown.length ? shown.join(', ') : 'its labels';
}

export function loadTargets(path: string): Targets {
  return new Targets(loadYamlConfig(path, targetsFileSchema, 'targets', TargetsError).targets);
}

export function parseTargets(
  text: string,
  path = '<targets>',
  origin?: string,
  topologyLabels?: TopologyLabels,
): Targets {
  return new Targets(
    parseYamlConfig(text, path, targetsFileSchema, 'targets', TargetsError).targets,
    origin,
    topologyLabels,
  );
}

/** TARGETS_FILE for watchConfig, places topped with TOPOLOGY_LABELS: errors name the version loaded. */
export function targetsParser(topologyLabels = DEFAULT_TOPOLOGY_LABELS): ConfigParser<Targets> {
  return (text, path, version) =>
    parseTargets(text, path, `TARGETS_FILE (${describeVersion(version)})`, topologyLabels);
}

export const parseTargetsVersion: ConfigParser<Targets> = targetsParser();

/**
 * TARGETS_FILE followed as it changes: the one Targets returned adopts each new version that
 * validates, so whoever holds it places alerts on the fleet as the file says now.
 */
export function watchTargets(
  path: string,
  topologyLabels: TopologyLabels,
  logger: Logger,
): { file: WatchedConfig<Targets>; targets: Targets } {
  const file = watchConfig(path, targetsParser(topologyLabels), {
    logger,
    what: 'TARGETS_FILE',
    ErrorClass: TargetsError,
    onChange: (reloaded) => targets.adopt(reloaded),
  });
  const targets = file.current;
  return { file, targets };
}
