/** BullMQ states of a job still to run, or running. */
const PENDING = new Set(['waiting', 'delayed', 'prioritized', 'active', 'waiting-children']);

export function isPending(state: string): boolean {
  return PENDING.has(state);
}
