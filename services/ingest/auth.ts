import { createHash, timingSafeEqual } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Keyspace } from '../../shared/keys.js';
import type { RedisConnection } from '../../shared/redis.js';
import { Credentials, type NamedUser, type Principal, type Role, roleAllows } from './credentials.js';
import type { RefusalLog, RefusalReason } from './refusal-log.js';
import { isLoopback, loopbackHostRefusal, SAFE_METHODS } from './request-origin.js';
import { CSRF_HEADER, macEqual, SESSION_COOKIE, type Session, Sessions } from './session.js';
import { TokenGuessLimiter } from './token-guesses.js';

const digest = (secret: string) => createHash('sha256').update(secret).digest();

/** Compares secrets in constant time (equal-length digests); the expected one is digested once. */
export function matcher(expected: string): (given: string) => boolean {
  const expectedDigest = digest(expected);
  return (given) => timingSafeEqual(digest(given), expectedDigest);
}

/**
 * What an Authorization header holds: a bearer token, a Basic password, or neither (malformed).
 * Not Hono's bearerAuth/basicAuth: they check against fixed tokens and answer refusals themselves,
 * while here the token names its holder and a wrong one counts against the guess limits.
 */
export function presentedToken(header: string, allowBasic: boolean): string | undefined {
  const [scheme = '', value = ''] = header.split(' ', 2);
  if (scheme.toLowerCase() === 'bearer') return value;
  if (!allowBasic || scheme.toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  return decoded.slice(decoded.indexOf(':') + 1);
}

/** What requests to the API, the console and Bull Board are checked against. */
export interface AdminGate {
  credentials: Credentials;
  guesses: TokenGuessLimiter;
  sessions: Sessions;
  refusals: RefusalLog;
}

export function adminGate(
  adminToken: string | undefined,
  users: readonly NamedUser[],
  redis: RedisConnection,
  keys: Keyspace,
  refusals: RefusalLog,
): AdminGate {
  return {
    credentials: new Credentials(adminToken, users),
    guesses: new TokenGuessLimiter(redis, keys),
    sessions: new Sessions(redis, keys),
    refusals,
  };
}

/** The console session a request carries, if it is live and its credential is still configured. */
export async function liveSession(gate: AdminGate, c: Context): Promise<Session | null> {
  const session = await gate.sessions.read(getCookie(c, SESSION_COOKIE));
  if (!session) return null;
  const stillValid = gate.credentials.open
    ? session.credential === 'local'
    : gate.credentials.has(session.credential);
  return stillValid ? session : null;
}

export type AuthEnv = { Variables: { principal: Principal } };

/** Answers a refused request with its error, logged (rate-limited) with the reason and peer address. */
export function refuse(
  gate: AdminGate,
  c: Context,
  reason: RefusalReason,
  status: 401 | 403 | 421 | 429,
  error: string,
  name?: string,
): Response {
  gate.refusals.refused(reason, getConnInfo(c).remote.address, {
    status,
    method: c.req.method,
    path: c.req.path,
    ...(name ? { name } : {}),
  });
  return c.json({ error }, status);
}

/** Without tokens: why this request is not from this machine (421 or 401), or null. */
export function notThisMachine(gate: AdminGate, c: Context): Response | null {
  const host = loopbackHostRefusal(c.req.header('host'));
  if (host) return refuse(gate, c, 'bad Host', 421, host);
  if (!isLoopback(getConnInfo(c).remote.address))
    return refuse(gate, c, 'not this machine', 401, 'no token is set: only this machine may use this');
  return null;
}

/**
 * Lets a request through when its credential has `role`, and records who it is (`principal`).
 * Credentials: `Authorization: Bearer <token>` (the break-glass ADMIN_TOKEN or a named token from
 * USERS_FILE); with `allowBasic`, HTTP Basic with the token as password (Bull Board in a browser);
 * with `allowSession`, the console's session cookie, whose writes must carry its CSRF token in
 * `x-csrf-token`. A right token is recognised first and never waits; wrong ones are counted against
 * the guess limits (429 with Retry-After past them). Without any token configured, only this machine
 * may come in, by a loopback Host.
 */
export function requireRole(
  gate: AdminGate,
  role: Role | ((method: string) => Role),
  options: { allowBasic?: boolean; allowSession?: boolean } = {},
): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const principal = await authenticate(gate, c, options);
    if (principal instanceof Response) return principal;
    const needed = typeof role === 'function' ? role(c.req.method) : role;
    if (!roleAllows(principal.role, needed)) {
      const who = `${principal.name ?? 'this credential'} (${principal.role})`;
      return refuse(
        gate,
        c,
        'missing role',
        403,
        `${who} may not do this: it needs the ${needed} role`,
        principal.name,
      );
    }
    c.set('principal', principal);
    await next();
  };
}

async function authenticate(
  gate: AdminGate,
  c: Context,
  options: { allowBasic?: boolean; allowSession?: boolean },
): Promise<Principal | Response> {
  const open = gate.credentials.open;
  if (open) {
    const refused = notThisMachine(gate, c);
    if (refused) return refused;
  }
  const unauthorized = (reason: RefusalReason, error = 'unauthorized') => {
    if (options.allowBasic) c.header('WWW-Authenticate', 'Basic realm="hermes"');
    return refuse(gate, c, reason, 401, error);
  };
  const header = c.req.header('authorization');
  // Without tokens there is nothing to check a header against: this machine is trusted as before.
  if (header !== undefined && !open) {
    const presented = presentedToken(header, options.allowBasic ?? false);
    if (presented === undefined) return unauthorized('malformed Authorization header');
    const credential = gate.credentials.identify(presented);
    if (credential) return credential.principal;
    const verdict = await gate.guesses.wrongToken(getConnInfo(c).remote.address ?? 'unknown', presented);
    if (verdict.status === 401) return unauthorized('wrong token');
    c.header('retry-after', String(verdict.retryAfterSeconds));
    return refuse(
      gate,
      c,
      'wrong token',
      429,
      `${verdict.reason}; retry after ${verdict.retryAfterSeconds} s`,
    );
  }
  if (options.allowSession && getCookie(c, SESSION_COOKIE) !== undefined) {
    const session = await liveSession(gate, c);
    if (session) {
      if (!SAFE_METHODS.has(c.req.method) && !macEqual(c.req.header(CSRF_HEADER) ?? '', session.csrf))
        return refuse(gate, c, 'missing CSRF token', 403, `missing or invalid ${CSRF_HEADER} header`);
      return { name: session.name, role: session.role, breakGlass: session.breakGlass, via: 'session' };
    }
    if (!open) return unauthorized('invalid session');
  }
  if (open) return { role: 'admin', breakGlass: false, via: 'local' };
  return unauthorized('missing token');
}
