import type { Placement } from '../placement.js';
import { topologyWords } from '../topology.js';

export function describeDockerShort(placement: Placement): string {
  const { resource, target } = placement;
  return `${resource ? `container ${resource}` : 'docker'} on ${target}${topologyWords(placement)}`;
}

export function describeDocker(placement: Placement, resource: string | null): string {
  return resource
    ? `container ${resource}${topologyWords(placement)} via docker (target ${placement.target})`
    : `docker target ${placement.target}${topologyWords(placement)}`;
}
