import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { CSRF_HEADER, macEqual, sessionCookieFrom, verifySession } from './ui/session.js';

const digest = (secret: string) => createHash('sha256').update(secret).digest();

/** Compares secrets in constant time (digests have equal lengths). */
export function safeEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** `safeEqual` against one expected secret, digested once rather than on every request. */
function matcher(expected: string): (given: string) => boolean {
  const expectedDigest = digest(expected);
  return (given) => timingSafeEqual(digest(given), expectedDigest);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Requires `Authorization: Bearer <token>` when a token is configured. With `allowBasic`, HTTP Basic
 * with the token as password also passes, so a browser can open Bull Board. With `allowSession`, the
 * incident console's session cookie also passes; a mutating request must then carry the session's
 * CSRF token in `x-csrf-token` (403 otherwise).
 */
export function requireToken(
  token: string | undefined,
  options: { allowBasic?: boolean; allowSession?: boolean } = {},
): MiddlewareHandler {
  const matches = token ? matcher(token) : () => false;
  return async (c, next) => {
    if (!token) return next();
    const header = c.req.header('authorization') ?? '';
    const [scheme, value = ''] = header.split(' ', 2);
    let presented: string | undefined;
    if (scheme?.toLowerCase() === 'bearer') presented = value;
    if (options.allowBasic && scheme?.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      presented = decoded.slice(decoded.indexOf(':') + 1);
    }
    if (presented !== undefined && matches(presented)) return next();
    if (options.allowSession && presented === undefined) {
      const session = verifySession(token, sessionCookieFrom(c.req.header('cookie')));
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
