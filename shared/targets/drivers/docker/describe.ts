import type { Placement } from '../placement.js';

export function describeDockerShort({ resource, target }: Placement): string {
  return `${resource ? `container ${resource}` : 'docker'} on ${target}`;
}

export function describeDocker(placement: Placement, resource: string | null): string {
  return resource
    ? `container ${resource} via docker (target ${placement.target})`
    : `docker target ${placement.target}`;
}
