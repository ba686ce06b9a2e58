import type { Placement } from '../placement.js';

export function describeDocker(placement: Placement, resource: string | null): string {
  return resource
    ? `container ${resource} via docker (target ${placement.target})`
    : `docker target ${placement.target}`;
}
