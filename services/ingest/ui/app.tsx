import { readFileSync } from 'node:fs';
import { getConnInfo } from '@hono/node-server/conninfo';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { etag } from 'hono/etag';
import type { JSX } from 'hono/jsx/jsx-runtime';
import { secureHeaders } from 'hono/secure-headers';
import { z } from 'zod';
import type { ApprovalStore } from '../../../shared/approvals.js';
import type { AutomationControl } from '../../../shared/control.js';
import type { IncidentStore } from '../../../shared/incidents.js';
import type { Keyspace } from '../../../shared/keys.js';
import type { RedisConnection } from '../../../shared/redis.js';
import type { Incident } from '../../../shared/schemas/incident.js';
import { incidentTargets } from '../../../shared/targets/incident-targets.js';
import type { Targets } from '../../../shared/targets/targets.js';
import { actingName } from '../actor.js';
import { type AdminGate, liveSession, notThisMachine } from '../auth.js';
import type { IngestEnv } from '../env.js';
import { readActivity } from './activity.js';
import { AutomationStatusReader } from './automation-status.js';
import { approvalsFor, filterSchema, listIncidents, needingAHuman } from './console-data.js';
import { alertLinks } from './format.js';
import { UI_BASE } from './paths.js';
import {
  macEqual,
  type NewSession,
  SESSION_COOKIE,
  type Session,
  sessionCookieOptions,
  sessionUserSchema,
} from './session.js';
import { ActivityChart } from './views/activity.js';
import { ApprovalList } from './views/approvals.js';
import { AuditFact, AutomationBar } from './views/automation.js';
import { IncidentDetail } from './views/incident.js';
import { AllIncidents, NeedsAHuman } from './views/incidents.js';
import { LoginPage } from './views/login.js';
import { IncidentPage, NotFoundPage, OverviewPage } from './views/pages.js';

export interface ConsoleDeps {
  env: Pick<IngestEnv, 'PROMETHEUS_EXTERNAL_URL' | 'GRAFANA_URL' | 'AUDIT_MAX_ENTRIES'>;
  redis: RedisConnection;
  keys: Keyspace;
  incidents: IncidentStore;
  targets: Targets | Error;
  approvals: ApprovalStore;
  control: AutomationControl;
  /** The credentials, their guess limits and the sessions, shared with the API. */
  gate: AdminGate;
}

type ConsoleEnv = { Variables: { session: Session } };

const asset = (name: string) => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
const ASSETS = {
  'console.css': { body: asset('console.css'), type: 'text/css; charset=utf-8' },
  'console.js': { body: asset('console.js'), type: 'text/javascript; charset=utf-8' },
  'icon.svg': { body: asset('icon.svg'), type: 'image/svg+xml' },
};

// Only this console's own script, styles and images; never framed, no referrer to other sites.
const securityHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
  referrerPolicy: 'same-origin',
  xFrameOptions: 'DENY',
});

// An empty field is a field left out.
const loginBodySchema = z.object({
  name: z.preprocess((v) => (v === '' ? undefined : v), sessionUserSchema.optional()),
  token: z.preprocess((v) => (v === '' ? undefined : v), z.string().max(1_000).optional()),
  next: z.string().max(500).optional(),
});

const logoutBodySchema = z.object({ csrf: z.string().max(200) });

/**
 * The incident console, mounted at /ui by ingest. Pages are server-rendered; a small script polls the
 * `live/*` fragments (ETag, 304 when unchanged) and sends approvals and pauses to the JSON API.
 */
export function createConsoleApp(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const { gate, keys } = deps;
  const needsToken = !gate.credentials.open;
  const status = new AutomationStatusReader(deps.redis, keys, deps.control, deps.env.AUDIT_MAX_ENTRIES);
  const app = new Hono<ConsoleEnv>();

  app.use('*', securityHeaders);
  // Without tokens, only this machine: not a DNS-rebinding page that reached it by another name.
  app.use('*', async (c, next) => (gate.credentials.open ? (notThisMachine(gate, c) ?? next()) : next()));

  // The login page needs the stylesheet and icon; the script is served only to a signed-in browser (below).
  app.get('/assets/console.css', (c) => serveAsset(c, 'console.css'));
  app.get('/assets/icon.svg', (c) => serveAsset(c, 'icon.svg'));

  app.get('/login', (c) =>
    c.html(<LoginPage next={safeNext(c.req.query('next'))} needsToken={needsToken} />),
  );
  app.post('/login', async (c) => {
    const body = loginBodySchema.safeParse(await c.req.parseBody().catch(() => undefined));
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

  const requireSession: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
    const session = await liveSession(gate, c);
    if (!session) {
      if (c.req.path.startsWith(`${UI_BASE}/live/`)) return c.json({ error: 'unauthorized' }, 401);
      return c.redirect(`${UI_BASE}/login?next=${encodeURIComponent(c.req.path)}`, 303);
    }
    c.set('session', session);
    c.header('cache-control', 'no-store');
    await next();
  };
  // Registered after the public routes above, so it guards everything else.
  app.use('*', requireSession);

  app.get('/assets/console.js', (c) => serveAsset(c, 'console.js'));

  app.post('/logout', async (c) => {
    const body = logoutBodySchema.safeParse(await c.req.parseBody().catch(() => undefined));
    if (!body.success || !macEqual(body.data.csrf, c.get('session').csrf))
      return c.json({ error: 'invalid CSRF token' }, 403);
    // The cookie is cleared here, and refused everywhere even if a copy of it is kept.
    await gate.sessions.revoke(c.get('session'));
    deleteCookie(c, SESSION_COOKIE, sessionCookieOptions(isHttps(c)));
    return c.redirect(`${UI_BASE}/login`, 303);
  });

  const user = (c: Context<ConsoleEnv>) => ({ name: c.get('session').name, csrf: c.get('session').csrf });

  app.get('/', async (c) => {
    const filter = filterSchema.safeParse(c.req.query());
    if (!filter.success) return c.json({ error: 'invalid filter', details: filter.error.issues }, 400);
    const [automation, audit, approvals, list, activity] = await Promise.all([
      status.read(),
      status.verifyAudit(),
      deps.approvals.listPending(),
      listIncidents(deps.incidents, filter.data),
      readActivity(deps.redis, keys),
    ]);
    const needsAHuman = await needingAHuman(deps.incidents, deps.targets, approvals);
    return c.html(
      <OverviewPage
        user={user(c)}
        filter={filter.data}
        status={automation}
        audit={audit}
        approvals={approvals}
        needsAHuman={needsAHuman}
        incidents={list.rows}
        truncated={list.truncated}
        activity={activity}
        now={Date.now()}
      />,
    );
  });

  /** Everything the incident page shows besides the incident itself. */
  const incidentContext = async (incident: Incident) => ({
    incident,
    approvals: await approvalsFor(deps.approvals, incident),
    where: await incidentTargets(deps.incidents, deps.targets, incident.id),
    links: alertLinks(incident, deps.env),
    now: Date.now(),
  });

  app.get('/incidents/:id', async (c) => {
    const incident = await deps.incidents.get(c.req.param('id'));
    if (!incident) {
      // A short id (a unique prefix, as the CLI shows them) leads to its incident.
      const match = await deps.incidents.resolveId(c.req.param('id'));
      if (match.ok) return c.redirect(`${UI_BASE}/incidents/${match.id}`, 303);
      return c.html(<NotFoundPage user={user(c)} what="No incident has this id." />, 404);
    }
    return c.html(<IncidentPage user={user(c)} {...(await incidentContext(incident))} />);
  });

  // Live regions are polled: an unchanged one costs a 304 (weak: the HTML, not its bytes, is what matters).
  app.use('/live/*', etag({ weak: true }));
  app.get('/live/activity', async (c) =>
    fragment(c, <ActivityChart activity={await readActivity(deps.redis, keys)} />),
  );
  app.get('/live/automation', async (c) => fragment(c, <AutomationBar status={await status.read()} />));
  app.get('/live/audit', async (c) =>
    fragment(c, <AuditFact audit={await status.verifyAudit()} checkedAt={new Date().toISOString()} />),
  );
  app.get('/live/approvals', async (c) =>
    fragment(
      c,
      <ApprovalList
        approvals={await deps.approvals.listPending()}
        now={Date.now()}
        showIncident
        empty="Nothing is waiting for a human."
      />,
    ),
  );
  app.get('/live/incidents', async (c) => {
    const filter = filterSchema.safeParse(c.req.query());
    if (!filter.success) return c.json({ error: 'invalid filter', details: filter.error.issues }, 400);
    const list = await listIncidents(deps.incidents, filter.data);
    return fragment(c, <AllIncidents rows={list.rows} now={Date.now()} truncated={list.truncated} />);
  });
  app.get('/live/needs-a-human', async (c) => {
    const { rows, more } = await needingAHuman(
      deps.incidents,
      deps.targets,
      await deps.approvals.listPending(),
    );
    return fragment(c, <NeedsAHuman rows={rows} more={more} now={Date.now()} />);
  });
  app.get('/live/incidents/:id', async (c) => {
    const incident = await deps.incidents.get(c.req.param('id'));
    if (!incident) return c.json({ error: 'incident not found' }, 404);
    return fragment(c, <IncidentDetail {...(await incidentContext(incident))} />);
  });

  return app;
}

function serveAsset(c: Context, name: keyof typeof ASSETS): Response {
  const file = ASSETS[name];
  return c.body(file.body, 200, { 'content-type': file.type, 'cache-control': 'no-cache' });
}

/** A live region's HTML; the `etag` middleware answers 304 while it is unchanged (no DOM work). */
async function fragment(c: Context, node: JSX.Element): Promise<Response> {
  c.header('cache-control', 'no-cache');
  return c.html((await node).toString());
}

/** Only a console path: `next` must never send a signed-in user to another site. */
function safeNext(raw: string | undefined): string {
  return raw && /^\/ui(\/[A-Za-z0-9_\-/]*)?$/.test(raw) ? raw : UI_BASE;
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}
