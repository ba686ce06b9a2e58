import type { Placement } from '../placement.js';

export function describeKubernetesShort({ resource, host, target }: Placement): string {
  return `${host}/${resource ?? '*'} on ${target}`;
}

export function describeKubernetes(placement: Placement, resource: string | null): string {
  return `${resource ? `${placement.workloadKind ?? 'workload'} ${placement.host}/${resource}` : `namespace ${placement.host}`} on cluster ${placement.target} via kubernetes`;
}
