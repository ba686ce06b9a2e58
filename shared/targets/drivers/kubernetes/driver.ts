import { KubernetesTargetError, WORKLOAD_KINDS, type WorkloadKind } from '../../../remote/kubernetes.js';
import { remoteWrites, type TargetDriver, TargetReadError, type TargetReads } from '../driver.js';
import { type AlertValues, render } from '../template.js';
import { describeKubernetes, describeKubernetesShort } from './describe.js';
import { type KubernetesSettings, NAMESPACE_PATTERN } from './settings.js';
import { WorkloadReads } from './workload-reads.js';
import { kubernetesWrites } from './writes.js';

/** DNS-1123 subdomain: what Kubernetes accepts as a workload or pod name. */
const KUBERNETES_NAME = /^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$/;

type KubernetesTargetConfig = { name: string; kubernetes: KubernetesSettings };

/** A cluster's API: a workload (or a pod's owner) in one of the namespaces the target allows. */
export const kubernetesDriver: TargetDriver<KubernetesTargetConfig> = {
  place(config, alert) {
    const settings = config.kubernetes;
    const namespace = render(settings.namespace, alert);
    const workload = settings.workload
      ? { kind: settings.workload.kind, name: render(settings.workload.name, alert) }
      : defaultWorkload(alert);
    if (!NAMESPACE_PATTERN.test(namespace))
      throw new Error(`${JSON.stringify(namespace)} is not a namespace name`);
    if (!settings.namespaces.includes(namespace))
      throw new Error(`namespace ${namespace} is not one it may touch (${settings.namespaces.join(', ')})`);
    if (workload && !KUBERNETES_NAME.test(workload.name))
      throw new Error(`${JSON.stringify(workload.name)} is not a valid ${workload.kind} name`);
    return {
      host: namespace,
      resource: workload?.name ?? null,
      ...(workload ? { workloadKind: workload.kind } : {}),
    };
  },
  describe: describeKubernetes,
  describeShort: describeKubernetesShort,
  // A workload's host is its namespace; the cluster (target) name chooses it as well.
  aliases: (placement) => [placement.target],
  reads(config, context): TargetReads {
    const cluster = context.clients.kubernetes.get(config.name, config.kubernetes);
    const read = <T>(work: Promise<T>): Promise<T> =>
      work.catch((error: Error) => {
        throw error instanceof KubernetesTargetError ? new TargetReadError(error.message) : error;
      });
    return {
      logs: (placement, _unit, lines, level) =>
        read(new WorkloadReads(cluster, placement).logs(lines, level)),
      resources: (placement) => read(new WorkloadReads(cluster, placement).status()),
      diag: (placement, command) =>
        read(
          new WorkloadReads(cluster, placement)
            .diag(command.trim())
            .then((result) => ({ source: describeKubernetes(placement, placement.resource), ...result })),
        ),
    };
  },
  writes: remoteWrites('kubernetes', (config, placement, operation, context) =>
    kubernetesWrites(context.clients.kubernetes.get(config.name, config.kubernetes), placement, operation),
  ),
};

function defaultWorkload(alert: AlertValues): { kind: WorkloadKind; name: string } | null {
  for (const kind of WORKLOAD_KINDS) if (alert.label(kind)) return { kind, name: alert.label(kind) };
  return null;
}
