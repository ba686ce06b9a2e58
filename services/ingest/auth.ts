import { createHash, timingSafeEqual } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Keyspace } from '../../shared/keys.js';
import type { RedisConnection } from '../../shared/redis.js';
import { isLoopback } from './request-origin.js';
import { TokenGuessLimiter } from './token-guesses.js';
import { RevokedSessions } from './ui/revoked-sessions.js';
import { CSRF_HEADER, macEqual, SESSION_COOKIE, verifySession } from './ui/session.js';

const digest = (secret: string) => createHash('sha256').update(secret).digest();

/** Compares secrets in constant time (equal-length digests); the expected one is digested once. */
export function matcher(expected: string): (given: string) => boolean {
  const expectedDigest = digest(expected);
  return (given) => timingSafeEqual(digest(given), expectedDigest);
}

/** The token of an `Authorization: Bearer <token>` header, if that is what the header holds. */
export function bearerToken(header: string): string | undefined {
  const [scheme, value = ''] = header.split(' ', 2);
  return scheme?.toLowerCase() === 'bearer' ? value : undefined;
}

/** The password of an `Authorization: Basic …` header. */
function basicPassword(header: string): string | undefined {
  const [scheme, value = ''] = header.split(' ', 2);
  if (scheme?.toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  return decoded.slice(decoded.indexOf(':') + 1);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What admin requests are checked against: the token, the limit on guessing it, signed-out sessions. */
export interface AdminGate {
  token: string | undefined;
  guesses: TokenGuessLimiter;
  revoked: RevokedSessions;
}

export function adminGate(token: string | undefined, redis: RedisConnection, keys: Keyspace): AdminGate {
  const matches = token ? matcher(token) : () => false;
  return {
    token,
    guesses: new TokenGuessLimiter(redis, keys, matches),
    revoked: new RevokedSessions(redis, keys),
  };
}

/** The console session a request carries, if it is valid and not signed out. */
export async function liveSession(gate: AdminGate, secret: string, c: Context) {
  const session = verifySession(secret, getCookie(c, SESSION_COOKIE));
  return session && !(await gate.revoked.isRevoked(session)) ? session : null;
}

/**
 * Requires `Authorization: Bearer <token>` when a token is configured, each presented token counted
 * against the guess limits (429 with Retry-After past them). With `allowBasic`, HTTP Basic with the
 * token as password also passes, so a browser can open Bull Board. With `allowSession`, the incident
 * console's session cookie also passes; a mutating request must then carry the session's CSRF token
 * in `x-csrf-token` (403 otherwise).
 */
export function requireToken(
  gate: AdminGate,
  options: { allowBasic?: boolean; allowSession?: boolean } = {},
): MiddlewareHandler {
  const { token } = gate;
  return async (c, next) => {
    const address = getConnInfo(c).remote.address;
    // No token: open, but to this machine only.
    if (!token)
      return isLoopback(address)
        ? next()
        : c.json({ error: 'ADMIN_TOKEN is not set: only this machine may use this' }, 401);
    const header = c.req.header('authorization') ?? '';
    let presented = bearerToken(header);
    if (options.allowBasic && presented === undefined) presented = basicPassword(header);
    if (presented !== undefined) {
      const verdict = await gate.guesses.check(address ?? 'unknown', presented);
      if (verdict.ok) return next();
      if (verdict.status === 429) {
        c.header('retry-after', String(verdict.retryAfterSeconds));
        return c.json({ error: `${verdict.reason}; retry after ${verdict.retryAfterSeconds} s` }, 429);
      }
    } else if (options.allowSession) {
      const session = await liveSession(gate, token, c);
      if (session) {
        if (SAFE_METHODS.has(c.req.method) || macEqual(c.req.header(CSRF_HEADER) ?? '', session.csrf))
          return next();
        return c.json({ error: `missing or invalid ${CSRF_HEADER} header` }, 403);
      }
    }
    if (options.allowBasic) c.header('WWW-Authenticate', 'Basic realm="hermes"');
    return c.json({ error: 'unauthorized' }, 401);
  };
}
