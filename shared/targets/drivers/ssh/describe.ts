import type { Placement } from '../placement.js';

export function describeSshShort({ resource, host }: Placement): string {
  return `${resource ? `${resource} on ` : ''}${host} (ssh)`;
}

export function describeSsh(placement: Placement, resource: string | null): string {
  return `${resource ? `${resource} on ` : ''}${placement.host} via ssh (target ${placement.target})`;
}
