import type { Placement } from '../placement.js';

export function describeSsh(placement: Placement, resource: string | null): string {
  return `${resource ? `${resource} on ` : ''}${placement.host} via ssh (target ${placement.target})`;
}
