/**
 * Values that may be placed in argv or sent to a target as one word: no leading dash (so never an
 * option), no spaces, no shell or path metacharacters. Units, containers, services and hosts.
 */
export const SAFE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

/** A host name or address as it appears in an alert's instance, without the port. */
export const HOST_PATTERN = /^(?:[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[?[0-9A-Fa-f:.]{2,45}\]?)$/;

/** `host:port`, `[v6]:port` or a bare host → the host alone (IPv6 without brackets). */
export function hostOfInstance(instance: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(instance);
  if (v6) return v6[1] as string;
  if ((instance.match(/:/g) ?? []).length > 1) return instance;
  return instance.replace(/:\d+$/, '');
}
