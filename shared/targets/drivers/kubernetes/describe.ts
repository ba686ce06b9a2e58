import type { Placement } from '../placement.js';
import { topologyWords } from '../topology.js';

export function describeKubernetesShort(placement: Placement): string {
  const { resource, host, target } = placement;
  return `${host}/${resource ?? '*'} on ${target}${topologyWords(placement)}`;
}

export function describeKubernetes(placement: Placement, resource: string | null): string {
  return `${resource ? `${placement.workloadKind ?? 'workload'} ${placement.host}/${resource}` : `namespace ${placement.host}`} on cluster ${placement.target}${topologyWords(placement)} via kubernetes`;
}
