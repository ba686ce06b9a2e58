import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { actingName } from '../actor.js';
import { type AdminGate, liveSession } from '../auth.js';
import {
  macEqual,
  type NewSession,
  SESSION_COOKIE,
  sessionCookieOptions,
  sessionUserSchema,
} from '../session.js';
import type { ConsoleEnv } from './context.js';
import { UI_BASE } from './paths.js';
import { LoginPage } from './views/login.js';

// An empty field is a field left out.
const loginBodySchema = z.object({
  name: z.preprocess((v) => (v === '' ? undefined : v), sessionUserSchema.optional()),
  token: z.preprocess((v) => (v === '' ? undefined : v), z.string().max(1_000).optional()),
  next: z.string().max(500).optional(),
});

const logoutBodySchema = z.object({ csrf: z.string().max(200) });

/**
 * The sign-in form, read with zod rather than Hono's `validator('form')`: that reader turns a body
 * cut off by the 16 KiB limit into a 400 (the client must see 413), and a refused form must be
 * answered with the sign-in page again, not JSON.
 */
async function readForm<Schema extends z.ZodType>(c: Context, schema: Schema) {
  return schema.safeParse(await c.req.parseBody().catch(() => undefined));
}

/** GET and POST /login: a session for a configured token (or, without tokens, for a name). */
export function signInRoutes(app: Hono<ConsoleEnv>, gate: AdminGate): void {
  const needsToken = !gate.credentials.open;
  app.get('/login', (c) =>
    c.html(<LoginPage next={safeNext(c.req.query('next'))} needsToken={needsToken} />),
  );
  app.post('/login', async (c) => {
    const body = await readForm(c, loginBodySchema);
    const next = safeNext(body.success ? body.data.next : undefined);
    const page = (status: 400 | 401 | 429, error: string) =>
      c.html(<LoginPage next={next} needsToken={needsToken} name={body.data?.name} error={error} />, status);
    if (!body.success) return page(400, 'Enter your name (letters, digits, _.@+-).');
    const { name, token } = body.data;
    const signIn = async (session: NewSession) => {
      setCookie(c, SESSION_COOKIE, await gate.sessions.issue(session), sessionCookieOptions(isHttps(c)));
      return c.redirect(next, 303);
    };
    if (!needsToken) {
      if (!name) return page(400, 'Enter your name: without tokens nothing else says who you are.');
      return signIn({ name, role: 'admin', breakGlass: false, credential: 'local' });
    }
    const credential = gate.credentials.identify(token ?? '');
    if (!credential) {
      const verdict = await gate.guesses.wrongToken(getConnInfo(c).remote.address ?? 'unknown', token ?? '');
      gate.refusals.refused('wrong token', getConnInfo(c).remote.address, {
        status: verdict.status,
        method: 'POST',
        path: c.req.path,
      });
      if (verdict.status === 401) return page(401, 'That token is not one of the configured tokens.');
      c.header('retry-after', String(verdict.retryAfterSeconds));
      return page(
        429,
        `Too many wrong tokens from this address: try again in ${verdict.retryAfterSeconds} s.`,
      );
    }
    const { principal, fingerprint } = credential;
    if (principal.name !== undefined)
      return signIn({
        name: principal.name,
        role: principal.role,
        breakGlass: false,
        credential: fingerprint,
      });
    // The break-glass admin token says nothing about who uses it: the name typed is recorded, marked.
    if (!name) return page(400, 'Enter your name: the admin token does not say who you are.');
    const acting = actingName(principal, name);
    if (!acting.ok) return page(400, acting.error);
    return signIn({ name: acting.by, role: 'admin', breakGlass: true, credential: fingerprint });
  });
}

/** Lets a live session through (as `session`); sends anything else to sign in (401 for live regions). */
export function requireSession(gate: AdminGate): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    const session = await liveSession(gate, c);
    if (!session) {
      if (c.req.path.startsWith(`${UI_BASE}/live/`)) return c.json({ error: 'unauthorized' }, 401);
      return c.redirect(`${UI_BASE}/login?next=${encodeURIComponent(c.req.path)}`, 303);
    }
    c.set('session', session);
    c.header('cache-control', 'no-store');
    await next();
  };
}

/** POST /logout: ends the session everywhere. */
export function signOutRoute(app: Hono<ConsoleEnv>, gate: AdminGate): void {
  app.post('/logout', async (c) => {
    const body = await readForm(c, logoutBodySchema);
    if (!body.success || !macEqual(body.data.csrf, c.get('session').csrf))
      return c.json({ error: 'invalid CSRF token' }, 403);
    // The cookie is cleared here, and refused everywhere even if a copy of it is kept.
    await gate.sessions.revoke(c.get('session'));
    deleteCookie(c, SESSION_COOKIE, sessionCookieOptions(isHttps(c)));
    return c.redirect(`${UI_BASE}/login`, 303);
  });
}

/** Only a console path: `next` must never send a signed-in user to another site. */
function safeNext(raw: string | undefined): string {
  return raw && /^\/ui(\/[A-Za-z0-9_\-/]*)?$/.test(raw) ? raw : UI_BASE;
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}
