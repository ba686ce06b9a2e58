import { readFileSync } from 'node:fs';
import { type Context, Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { notThisMachine } from '../auth.js';
import { AutomationStatusReader } from './automation-status.js';
import type { ConsoleDeps, ConsoleEnv } from './context.js';
import { liveRoutes } from './live-routes.js';
import { pageRoutes } from './page-routes.js';
import { requireSession, signInRoutes, signOutRoute } from './sign-in.js';

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

/**
 * The incident console, mounted at /ui by ingest. Pages are server-rendered; a small script polls the
 * `live/*` fragments (ETag, 304 when unchanged) and sends approvals and pauses to the JSON API.
 */
export function createConsoleApp(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const { gate } = deps;
  const reads = {
    ...deps,
    status: new AutomationStatusReader(deps.redis, deps.keys, deps.control, deps.env.AUDIT_MAX_ENTRIES),
  };
  const app = new Hono<ConsoleEnv>();

  app.use('*', securityHeaders);
  // Without tokens, only this machine: not a DNS-rebinding page that reached it by another name.
  app.use('*', async (c, next) => (gate.credentials.open ? (notThisMachine(gate, c) ?? next()) : next()));

  // The login page needs the stylesheet and icon; the script is served only to a signed-in browser (below).
  app.get('/assets/console.css', (c) => serveAsset(c, 'console.css'));
  app.get('/assets/icon.svg', (c) => serveAsset(c, 'icon.svg'));
  signInRoutes(app, gate);
  // Registered after the public routes above, so it guards everything else.
  app.use('*', requireSession(gate));

  app.get('/assets/console.js', (c) => serveAsset(c, 'console.js'));
  signOutRoute(app, gate);
  pageRoutes(app, reads);
  liveRoutes(app, reads);
  return app;
}

function serveAsset(c: Context, name: keyof typeof ASSETS): Response {
  const file = ASSETS[name];
  return c.body(file.body, 200, { 'content-type': file.type, 'cache-control': 'no-cache' });
}
