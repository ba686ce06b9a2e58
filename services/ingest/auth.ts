import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

/** Compares secrets in constant time (hashing first makes the lengths equal). */
export function safeEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Requires `Authorization: Bearer <token>` when a token is configured. With `allowBasic`, HTTP Basic
 * with the token as password also passes, so a browser can open Bull Board.
 */
export function requireToken(
  token: string | undefined,
  options: { allowBasic?: boolean } = {},
): MiddlewareHandler {
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
    if (presented !== undefined && safeEqual(presented, token)) return next();
    if (options.allowBasic) c.header('WWW-Authenticate', 'Basic realm="hermes"');
    return c.json({ error: 'unauthorized' }, 401);
  };
}
