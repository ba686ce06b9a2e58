import type { Principal } from './credentials.js';

const BREAK_GLASS = '+break-glass';
const MAX_NAME = 100;

export type ActingName = { ok: true; by: string } | { ok: false; status: 400 | 403; error: string };

/**
 * Who a request acts as, for the audit trail, the timeline and notices: the credential's name. A `by`
 * in the body is accepted only where it is that name. The break-glass ADMIN_TOKEN may name anyone
 * (`admin` when it names no one), and what it records is marked `<name>+break-glass`. Without tokens
 * nothing says who is asking, so `by` is required.
 */
export function actingName(principal: Principal, by: string | undefined): ActingName {
  if (principal.name !== undefined) {
    if (by === undefined || by === principal.name) return { ok: true, by: principal.name };
    const error =
      principal.via === 'session'
        ? `by "${by}" is not you: you are signed in as ${principal.name}`
        : `by "${by}" is not the name of your credential (${principal.name})`;
    return { ok: false, status: 403, error };
  }
  if (principal.breakGlass) {
    const marked = `${by ?? 'admin'}${BREAK_GLASS}`;
    if (marked.length > MAX_NAME)
      return {
        ok: false,
        status: 400,
        error: `with the break-glass token a name is at most ${MAX_NAME - BREAK_GLASS.length} characters (it is recorded as <name>${BREAK_GLASS})`,
      };
    return { ok: true, by: marked };
  }
  if (by === undefined) return { ok: false, status: 400, error: 'by is required: no credential names you' };
  return { ok: true, by };
}
