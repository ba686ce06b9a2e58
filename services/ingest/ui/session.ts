import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CookieOptions } from 'hono/utils/cookie';
import { z } from 'zod';

export const SESSION_COOKIE = 'hermes_session';
export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_TTL_SECONDS = 12 * 3600;

/** Who signed in: the name is recorded as `by` on approvals and pauses made from the console. */
export const sessionUserSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.@+-]{1,100}$/, 'name is 1-100 characters of [A-Za-z0-9_.@+-]');

export interface Session {
  /** The cookie's nonce: what logging out revokes. */
  id: string;
  user: string;
  expiresAt: number;
  /** Sent back by the page in the x-csrf-token header on every mutating request. */
  csrf: string;
}

// Keys are derived from ADMIN_TOKEN, so rotating the token signs every session out; the token itself
// never reaches the browser.
function key(token: string, purpose: 'session' | 'csrf'): Buffer {
  return createHash('sha256').update(`hermes-console-${purpose}\n${token}`).digest();
}

function mac(token: string, purpose: 'session' | 'csrf', payload: string): string {
  return createHmac('sha256', key(token, purpose)).update(payload).digest('base64url');
}

/** Constant-time for equal lengths; a MAC's length is public, so a length mismatch may return early. */
export function macEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A signed cookie value `v1.<user>.<expiresMs>.<nonce>.<mac>`. */
export function issueSession(token: string, user: string, now = Date.now()): string {
  const payload = `v1.${sessionUserSchema.parse(user)}.${now + SESSION_TTL_SECONDS * 1000}.${randomBytes(12).toString('base64url')}`;
  return `${payload}.${mac(token, 'session', payload)}`;
}

export function verifySession(token: string, cookie: string | undefined, now = Date.now()): Session | null {
  if (!cookie || cookie.length > 400) return null;
  const cut = cookie.lastIndexOf('.');
  const payload = cookie.slice(0, cut);
  if (cut < 0 || !macEqual(cookie.slice(cut + 1), mac(token, 'session', payload))) return null;
  const [version, user, expires, nonce] = payload.split('.');
  const expiresAt = Number(expires);
  if (version !== 'v1' || !sessionUserSchema.safeParse(user).success || !(expiresAt > now) || !nonce)
    return null;
  return { id: nonce, user: user as string, expiresAt, csrf: mac(token, 'csrf', cookie) };
}

/** The session cookie's attributes: script-proof, same-site only, `Secure` behind HTTPS. */
export function sessionCookieOptions(secure: boolean): CookieOptions {
  return { path: '/', httpOnly: true, sameSite: 'Strict', maxAge: SESSION_TTL_SECONDS, secure };
}
