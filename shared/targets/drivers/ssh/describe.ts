import type { Placement } from '../placement.js';
import { topologyWords } from '../topology.js';

export function describeSshShort(placement: Placement): string {
  const { resource, host } = placement;
  return `${resource ? `${resource} on ` : ''}${host}${topologyWords(placement)} (ssh)`;
}

export function describeSsh(placement: Placement, resource: string | null): string {
  return `${resource ? `${resource} on ` : ''}${placement.host}${topologyWords(placement)} via ssh (target ${placement.target})`;
}
