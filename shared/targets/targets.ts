import { HermesError } from '../errors.js';
import { HOST_PATTERN, hostOfInstance, SAFE_NAME_PATTERN } from '../names.js';
import { loadYamlConfig, parseYamlConfig } from '../yaml-config.js';
import {
  NAMESPACE_PATTERN,
  type TargetConfig,
  type TargetKind,
  TEMPLATE_PART,
  targetsFileSchema,
  WORKLOAD_KINDS,
  type WorkloadKind,
} from './schema.js';

/** DNS-1123 subdomain: what Kubernetes accepts as a workload or pod name. */
const KUBERNETES_NAME = /^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Where one alert's fix would act: the first target whose matchers all match its labels. */
export interface Placement {
  target: string;
  kind: TargetKind;
  /** The machine: the ssh host, the Docker endpoint's target name, the Kubernetes namespace, or `localhost`. */
  host: string;
  /** The alert's instance label (host:port), kept to recognise the host as the model may name it. */
  instance: string;
  /** The unit, container, service or Kubernetes workload acted on; null when the alert names none. */
  resource: string | null;
  /** Kubernetes only: what `resource` names (a pod stands for the workload that owns it). */
  workloadKind?: WorkloadKind;
  /** Docker only, once the executor has asked the engine: the container's full id (`resource` is its name). */
  containerId?: string;
}

export type PlacementResult = { ok: true; placement: Placement } | { ok: false; reason: string };

export class TargetsError extends HermesError {}

/** "api-gateway on api-server-03 via ssh", "container web-1 on docker-host via docker". */
export function describePlacement(placement: Placement, resource = placement.resource): string {
  const target = placement.target;
  switch (placement.kind) {
    case 'ssh':
      return `${resource ? `${resource} on ` : ''}${placement.host} via ssh (target ${target})`;
    case 'docker':
      return resource ? `container ${resource} via docker (target ${target})` : `docker target ${target}`;
    case 'kubernetes':
      return `${resource ? `${placement.workloadKind ?? 'workload'} ${placement.host}/${resource}` : `namespace ${placement.host}`} on cluster ${target} via kubernetes`;
    case 'local':
      return `${resource ? `${resource} on ` : ''}the executor's own machine (local target ${target})`;
  }
}

interface CompiledTarget {
  config: TargetConfig;
  matchers: [label: string, pattern: RegExp][];
}

/** The fleet as described by TARGETS_FILE: resolves an alert's labels to the place it names. */
export class Targets {
  private readonly compiled: CompiledTarget[];

  constructor(readonly list: readonly TargetConfig[]) {
    this.compiled = list.map((config) => ({
      config,
      matchers: Object.entries(config.match).map(([label, source]) => [label, new RegExp(`^(?:${source})$`)]),
    }));
  }

  get(name: string): TargetConfig | undefined {
    return this.list.find((target) => target.name === name);
  }

  place(labels: Readonly<Record<string, string>>): PlacementResult {
    const label = (name: string) => (Object.hasOwn(labels, name) ? (labels[name] as string) : '');
    const found = this.compiled.find(({ matchers }) =>
      matchers.every(([name, pattern]) => pattern.test(label(name))),
    );
    const instance = label('instance');
    if (!found) return { ok: false, reason: `no target in TARGETS_FILE matches ${describeLabels(labels)}` };
    const { config } = found;
    const values = { host: hostOfInstance(instance), instance, label };
    if (config.kind === 'kubernetes') return placeWorkload(config, values, instance);
    let host: string;
    let resource: string | null;
    try {
      host =
        config.kind === 'ssh'
          ? render(config.ssh.host, values)
          : config.kind === 'docker'
            ? config.name
            : 'localhost';
      resource = config.resource
        ? render(config.resource, values)
        : config.kind === 'docker'
          ? render(config.container ?? '{{labels.container}}', values, false) ||
            render('{{labels.name}}', values, false) ||
            null
          : label('service') || label('job') || null;
    } catch (error) {
      return { ok: false, reason: `target ${config.name}: ${(error as Error).message}` };
    }
    if (config.kind === 'ssh' && !HOST_PATTERN.test(host))
      return { ok: false, reason: `target ${config.name}: host ${JSON.stringify(host)} is not a host name` };
    if (resource !== null && !SAFE_NAME_PATTERN.test(resource))
      return {
        ok: false,
        reason: `target ${config.name}: ${JSON.stringify(resource)} is not a valid unit or container name`,
      };
    return { ok: true, placement: { target: config.name, kind: config.kind, host, instance, resource } };
  }
}

function placeWorkload(
  config: Extract<TargetConfig, { kind: 'kubernetes' }>,
  values: { host: string; instance: string; label(name: string): string },
  instance: string,
): PlacementResult {
  const settings = config.kubernetes;
  let namespace: string;
  let workload: { kind: WorkloadKind; name: string } | null;
  try {
    namespace = render(settings.namespace, values);
    workload = settings.workload
      ? { kind: settings.workload.kind, name: render(settings.workload.name, values) }
      : defaultWorkload(values.label);
  } catch (error) {
    return { ok: false, reason: `target ${config.name}: ${(error as Error).message}` };
  }
  if (!NAMESPACE_PATTERN.test(namespace))
    return {
      ok: false,
      reason: `target ${config.name}: ${JSON.stringify(namespace)} is not a namespace name`,
    };
  if (!settings.namespaces.includes(namespace))
    return {
      ok: false,
      reason: `target ${config.name}: namespace ${namespace} is not one it may touch (${settings.namespaces.join(', ')})`,
    };
  if (workload && !KUBERNETES_NAME.test(workload.name))
    return {
      ok: false,
      reason: `target ${config.name}: ${JSON.stringify(workload.name)} is not a valid ${workload.kind} name`,
    };
  return {
    ok: true,
    placement: {
      target: config.name,
      kind: 'kubernetes',
      host: namespace,
      instance,
      resource: workload?.name ?? null,
      ...(workload ? { workloadKind: workload.kind } : {}),
    },
  };
}

function defaultWorkload(label: (name: string) => string): { kind: WorkloadKind; name: string } | null {
  for (const kind of WORKLOAD_KINDS) if (label(kind)) return { kind, name: label(kind) };
  return null;
}

function render(
  template: string,
  values: { host: string; instance: string; label(name: string): string },
  required = true,
): string {
  return template.replace(TEMPLATE_PART, (_, name: string) => {
    const value =
      name === 'host' ? values.host : name === 'instance' ? values.instance : values.label(name.slice(7));
    if (!value && required)
      throw new Error(
        `the alert has no ${name === 'host' || name === 'instance' ? 'instance label' : `label ${name.slice(7)}`}`,
      );
    return value;
  });
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

export function parseTargets(text: string, path = '<targets>'): Targets {
  return new Targets(parseYamlConfig(text, path, targetsFileSchema, 'targets', TargetsError).targets);
}

/** For readers that must keep running with a bad file (ingest): the error instead of a throw. */
export function loadTargetsOrError(path: string): Targets | TargetsError {
  try {
    return loadTargets(path);
  } catch (error) {
    if (error instanceof TargetsError) return error;
    throw error;
  }
}
