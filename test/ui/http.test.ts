import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestHandle } from '../../services/ingest/service.js';
import { post, startTestIngest } from '../../services/ingest/test/harness.js';
import { IncidentStore } from '../../shared/incidents.js';
import { signInToConsole } from '../support/console.js';
import { webhookBody } from '../support/incidents.js';
import { openTestRedis, type TestRedis } from '../support/redis.js';
import { writeUsersFile } from '../support/users.js';

const TOKEN = 'console-admin-token';

let t: TestRedis;
let ingest: IngestHandle;

beforeAll(async () => {
  t = await openTestRedis();
  ingest = await startTestIngest(t, { ADMIN_TOKEN: TOKEN });
});
afterAll(async () => {
  await ingest.close();
  await t.close();
});

async function login(fields: Record<string, string>, base = ingest.url): Promise<Response> {
  return fetch(`${base}/ui/login`, {
    method: 'POST',
    body: new URLSearchParams(fields),
    redirect: 'manual',
  });
}

const signIn = (name = 'alice') => signInToConsole(ingest.url, { name, token: TOKEN });

function pause(headers: Record<string, string>): Promise<Response> {
  return fetch(`${ingest.url}/api/automation/pause`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ by: 'mallory' }),
  });
}

async function paused(): Promise<boolean> {
  return (await t.redis.exists(t.keys.paused)) === 1;
}

describe('console auth', () => {
  it('reaches nothing without a session: pages redirect to the login form, fragments, script and API answer 401', async () => {
    const page = await fetch(`${ingest.url}/ui/incidents/whatever`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/ui/login?next=%2Fui%2Fincidents%2Fwhatever');
    for (const path of ['/ui', '/ui/']) {
      const res = await fetch(`${ingest.url}${path}`, { redirect: 'manual' });
      expect(res.status, path).toBe(303);
    }
    for (const path of [
      '/ui/live/incidents',
      '/ui/live/needs-a-human',
      '/ui/live/approvals',
      '/ui/live/automation',
      '/ui/live/audit',
    ])
      expect((await fetch(`${ingest.url}${path}`)).status, path).toBe(401);
    expect((await fetch(`${ingest.url}/ui/assets/console.js`, { redirect: 'manual' })).status).toBe(303);
    expect((await fetch(`${ingest.url}/api/incidents`)).status).toBe(401);
    const form = await fetch(`${ingest.url}/ui/login`);
    expect(form.status).toBe(200);
    expect(form.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await form.text()).toContain('<label for="token">Your token</label>');
  });

  it('refuses a wrong token without setting a cookie', async () => {
    const res = await login({ name: 'alice', token: 'not-the-token' });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.text()).toContain('That token is not one of the configured tokens.');
    expect((await login({ name: 'bad name!', token: TOKEN })).status).toBe(400);
    // The name a break-glass session records (name+break-glass) must still be a name.
    const long = await login({ name: 'a'.repeat(95), token: TOKEN });
    expect(long.status).toBe(400);
    expect(await long.text()).toContain('with the break-glass token a name is at most 88 characters');
    // The break-glass admin token does not say who uses it: a name is needed.
    const nameless = await login({ token: TOKEN });
    expect(nameless.status).toBe(400);
    expect(nameless.headers.get('set-cookie')).toBeNull();
  });

  it('bounds every body: 413 for an oversized sign-in or API request, with or without a length', async () => {
    const big = `name=alice&token=${'x'.repeat(64 * 1024)}`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await fetch(`${ingest.url}/ui/login`, { method: 'POST', headers: form, body: big })).status).toBe(
      413,
    );
    // Chunked, no content-length: the limit is enforced while reading.
    const chunked = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 64; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1024)));
        controller.close();
      },
    });
    const streamed = await fetch(`${ingest.url}/ui/login`, {
      method: 'POST',
      headers: form,
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    const api = await fetch(`${ingest.url}/api/automation/pause`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'alice', padding: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(api.status).toBe(413);
    expect(await t.redis.get(t.keys.paused)).toBeNull();
  });

  it('throttles an address after 10 wrong tokens, yet lets the right token straight in', async () => {
    const own = await openTestRedis();
    const guarded = await startTestIngest(own, { ADMIN_TOKEN: TOKEN });
    try {
      // Raced: each wrong token is counted atomically, so exactly 10 are answered before the limit.
      const raced = await Promise.all(
        Array.from({ length: 60 }, (_, i) => login({ name: 'mallory', token: `guess-${i}` }, guarded.url)),
      );
      const statuses = raced.map((res) => res.status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(10);
      expect(statuses.filter((s) => s === 429)).toHaveLength(50);
      const limited = raced.find((res) => res.status === 429) as Response;
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await limited.text()).toContain('Too many wrong tokens from this address');
      // The admin behind the same address gets in at once: a right token never waits behind wrong ones.
      const admin = await login({ name: 'alice', token: TOKEN }, guarded.url);
      expect(admin.status).toBe(303);
      expect(admin.headers.get('set-cookie')).toMatch(/^hermes_session=/);
      // The API's bearer tokens share the limits.
      const api = await fetch(`${guarded.url}/api/incidents`, { headers: { authorization: 'Bearer nope' } });
      expect(api.status).toBe(429);
      expect(api.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await guarded.close();
      await own.close();
    }
  });

  it('limits bearer guesses at the API, and the right bearer token still gets straight through', async () => {
    const own = await openTestRedis();
    const guarded = await startTestIngest(own, { ADMIN_TOKEN: TOKEN });
    const get = (token: string) =>
      fetch(`${guarded.url}/api/incidents`, { headers: { authorization: `Bearer ${token}` } });
    try {
      for (let i = 0; i < 10; i++) expect((await get(`guess-${i}`)).status).toBe(401);
      const refused = await get('guess-10');
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { error: string }).error).toMatch(
        /^too many wrong tokens from this address; retry after \d+ s$/,
      );
      expect((await get(TOKEN)).status).toBe(200);
    } finally {
      await guarded.close();
      await own.close();
    }
  });

  it('sets an HttpOnly SameSite=Strict session cookie that never contains the token', async () => {
    const res = await login({ name: 'alice', token: TOKEN, next: '/ui/incidents/abc' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui/incidents/abc');
    const cookie = res.headers.get('set-cookie') ?? '';
    // A random value: who signed in is kept server-side, never in the cookie.
    expect(cookie).toMatch(/^hermes_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).not.toContain(TOKEN);
  });

  it('never redirects off the console after login', async () => {
    for (const next of ['//evil.example/ui', 'https://evil.example', '/ui/../admin', '/api/incidents'])
      expect((await login({ name: 'alice', token: TOKEN, next })).headers.get('location'), next).toBe('/ui');
  });

  it('lets the session read the API, but every write needs the CSRF header', async () => {
    const { cookie, csrf } = await signIn();
    expect((await fetch(`${ingest.url}/api/incidents`, { headers: { cookie } })).status).toBe(200);

    const bare = await pause({ cookie });
    expect(bare.status).toBe(403);
    expect(await bare.json()).toEqual({ error: 'missing or invalid x-csrf-token header' });
    expect((await pause({ cookie, 'x-csrf-token': `${csrf.slice(0, -2)}xx` })).status).toBe(403);
    const other = await signIn('bob');
    expect((await pause({ cookie, 'x-csrf-token': other.csrf })).status).toBe(403);
    expect(await paused()).toBe(false);

    // The session names who pauses: not whatever the body says.
    const impersonating = await pause({ cookie, 'x-csrf-token': csrf });
    expect(impersonating.status).toBe(403);
    expect(await impersonating.json()).toEqual({
      error: 'by "mallory" is not you: you are signed in as alice+break-glass',
    });
    expect(await paused()).toBe(false);
    const ok = await fetch(`${ingest.url}/api/automation/pause`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf },
      body: '{}',
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ paused: true, by: 'alice+break-glass' });
    await t.redis.del(t.keys.paused);
  });

  it('keeps Bearer exactly as before: a wrong Bearer fails even next to a valid cookie', async () => {
    const { cookie, csrf } = await signIn();
    expect(
      (await fetch(`${ingest.url}/api/incidents`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(200);
    expect(
      (await fetch(`${ingest.url}/api/incidents`, { headers: { authorization: 'Bearer nope', cookie } }))
        .status,
    ).toBe(401);
    expect((await pause({ authorization: 'Bearer nope', cookie, 'x-csrf-token': csrf })).status).toBe(401);
    expect(await paused()).toBe(false);
  });

  it('rejects forged, tampered and expired sessions', async () => {
    const { cookie } = await signIn();
    const value = cookie.slice('hermes_session='.length);
    // One whose time is up, even if Redis still held its record.
    const expired = (await signIn()).cookie.slice('hermes_session='.length);
    const key = t.keys.session(createHash('sha256').update(expired).digest('hex'));
    const record = JSON.parse((await t.redis.get(key)) ?? '{}');
    await t.redis.set(key, JSON.stringify({ ...record, expiresAt: Date.now() - 1 }));
    const forged = [
      `${value.slice(0, -3)}abc`,
      'A'.repeat(43),
      `${value}x`,
      'v1.alice.99999999999999.nonce.',
      expired,
    ];
    for (const bad of forged) {
      const headers = { cookie: `hermes_session=${bad}` };
      expect((await fetch(`${ingest.url}/api/incidents`, { headers })).status, bad).toBe(401);
      expect((await fetch(`${ingest.url}/ui`, { headers, redirect: 'manual' })).status, bad).toBe(303);
    }
  });

  it('signs out only with the CSRF token, and the cookie is cleared', async () => {
    const { cookie, csrf } = await signIn();
    const logout = (body: Record<string, string>) =>
      fetch(`${ingest.url}/ui/logout`, {
        method: 'POST',
        headers: { cookie },
        body: new URLSearchParams(body),
        redirect: 'manual',
      });
    expect((await logout({ csrf: 'wrong' })).status).toBe(403);
    expect((await fetch(`${ingest.url}/api/incidents`, { headers: { cookie } })).status).toBe(200);
    const res = await logout({ csrf });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/^hermes_session=; .*Max-Age=0/);
    // A copy of the cookie kept elsewhere is dead too: revoked server-side.
    expect((await fetch(`${ingest.url}/api/incidents`, { headers: { cookie } })).status).toBe(401);
    const page = await fetch(`${ingest.url}/ui`, { headers: { cookie }, redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toMatch(/^\/ui\/login/);
    // Signing in again gives a new, working session.
    const again = await signIn();
    expect((await fetch(`${ingest.url}/api/incidents`, { headers: { cookie: again.cookie } })).status).toBe(
      200,
    );
  });
});

describe('console pages', () => {
  it('serves live fragments with an ETag: 304 while unchanged, new HTML when an incident arrives', async () => {
    const { cookie } = await signIn();
    const url = `${ingest.url}/ui/live/incidents?level=2`;
    const first = await fetch(url, { headers: { cookie } });
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^W\/".+"$/);
    const same = await fetch(url, { headers: { cookie, 'if-none-match': etag } });
    expect(same.status).toBe(304);

    const res = await post(
      ingest.url,
      webhookBody([{ alertname: 'EtagProbe', instance: 'etag-01', level: 2 }]),
    );
    expect(res.status).toBe(202);
    const changed = await fetch(url, { headers: { cookie, 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(await changed.text()).toContain('EtagProbe');
    const level1 = await fetch(`${ingest.url}/ui/live/incidents?level=1`, { headers: { cookie } });
    expect(await level1.text()).not.toContain('EtagProbe');
    expect((await fetch(`${ingest.url}/ui/live/incidents?level=7`, { headers: { cookie } })).status).toBe(
      400,
    );
  });

  it('escapes alert content and links only http(s) URLs', async () => {
    const { cookie } = await signIn();
    const body = webhookBody([
      {
        alertname: 'Xss<script>alert(1)</script>',
        instance: '"><img src=x onerror=alert(2)>',
        annotations: { description: '<b>bold</b>', runbook_url: 'javascript:alert(3)' },
      },
    ]);
    const [alert] = body.alerts;
    if (alert) alert.generatorURL = 'javascript:alert(4)';
    const res = await post(ingest.url, body);
    const id = (await res.json()).incidents[0];
    const list = await (await fetch(`${ingest.url}/ui`, { headers: { cookie } })).text();
    const page = await (await fetch(`${ingest.url}/ui/incidents/${id}`, { headers: { cookie } })).text();
    for (const html of [list, page]) {
      expect(html).not.toContain('<script>alert');
      expect(html).not.toContain('<img src=x');
      expect(html).not.toMatch(/href="javascript:/i);
      expect(html).toContain('Xss&lt;script&gt;');
    }
    expect(page).toContain('&lt;b&gt;bold&lt;/b&gt;');
    expect(page).toContain('no runbook_url annotation');
    expect(page).toContain('no Prometheus link');
  });

  it("shows a restart's state from before it and a nested result as readable text, not JSON", async () => {
    const { cookie } = await signIn();
    const res = await post(
      ingest.url,
      webhookBody([{ alertname: 'ServiceDown', instance: 'docker-host-1' }]),
    );
    const id = (await res.json()).incidents[0] as string;
    await new IncidentStore(t.redis, t.keys).recordAction(id, {
      id: 'act-before-ui',
      tool: 'restart_service',
      args: { service: 'crashy' },
      requestedBy: 'agent',
      decision: 'executed',
      result: {
        operation: 'restart container crashy via docker (target docker-host-1)',
        state: { name: 'crashy', restartCount: 0, running: true, error: null },
        // Past a few hundred characters but a few lines: shown whole, never cut mid-line.
        image: `registry.example/${'shop/'.repeat(60)}crashy:1.2.3`,
      },
      before: {
        at: '2026-12-07T09:00:00.000Z',
        status: 'restarting',
        restartCount: 10,
        exitCode: 3,
        oomKilled: false,
        errorLines: ['ERROR crashy cannot reach db:5432'],
      },
      at: '2026-12-07T09:00:01.000Z',
    });
    const page = await (await fetch(`${ingest.url}/ui/incidents/${id}`, { headers: { cookie } })).text();
    const action = page.slice(page.indexOf('data-action="act-before-ui"'));
    expect(action).toMatch(
      /<div class="before"><strong>Before the fix:<\/strong> restarting, exit 3, 10 restarts; last error: &quot;ERROR crashy cannot reach db:5432&quot;<\/div><pre class="output before-errors">ERROR crashy cannot reach db:5432<\/pre>/,
    );
    expect(action).toContain('state:\n  name: crashy\n  restartCount: 0\n  running: true\n  error: null');
    expect(action).not.toContain('{&quot;name&quot;');
    expect(action.slice(0, action.indexOf('</li>'))).not.toContain('<details');
  });

  it('answers 404 for an unknown incident', async () => {
    const { cookie } = await signIn();
    expect((await fetch(`${ingest.url}/ui/incidents/inc-nope`, { headers: { cookie } })).status).toBe(404);
    expect((await fetch(`${ingest.url}/ui/live/incidents/inc-nope`, { headers: { cookie } })).status).toBe(
      404,
    );
  });
});

describe('console without ADMIN_TOKEN', () => {
  it('asks only for a name, and the API stays open as before', async () => {
    const open = await startTestIngest(t);
    try {
      const form = await (await fetch(`${open.url}/ui/login`)).text();
      expect(form).not.toContain('Admin token');
      const res = await login({ name: 'carol' }, open.url);
      expect(res.status).toBe(303);
      const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
      const page = await (await fetch(`${open.url}/ui`, { headers: { cookie } })).text();
      expect(page).toContain('Signed in as carol');
      expect((await fetch(`${open.url}/api/incidents`)).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe('console sign-in with a named credential', () => {
  const BOB = 'bob-console-token-0123456789abcdef';
  let own: TestRedis;
  let named: IngestHandle;

  beforeAll(async () => {
    own = await openTestRedis();
    named = await startTestIngest(own, {
      ADMIN_TOKEN: TOKEN,
      USERS_FILE: writeUsersFile([{ name: 'bob', role: 'operator', token: BOB }]),
    });
  });
  afterAll(async () => {
    await named.close();
    await own.close();
  });

  it('names the session after the credential, and writes from it are recorded as that name', async () => {
    const form = await (await fetch(`${named.url}/ui/login`)).text();
    expect(form).toContain('<label for="token">Your token</label>');
    const res = await login({ token: BOB }, named.url);
    expect(res.status).toBe(303);
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect(cookie).not.toContain(BOB);
    const page = await (await fetch(`${named.url}/ui`, { headers: { cookie } })).text();
    expect(page).toContain('<meta name="hermes-user" content="bob"');
    const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(page)?.[1] ?? '';
    const write = (by: string) =>
      fetch(`${named.url}/api/automation/pause`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf },
        body: JSON.stringify({ by }),
      });
    expect((await write('mallory')).status).toBe(403);
    expect(await own.redis.get(own.keys.paused)).toBeNull();
    const ok = await write('bob');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ paused: true, by: 'bob' });
    // A name typed next to a named token changes nothing: the credential says who.
    const typed = await login({ name: 'alice', token: BOB }, named.url);
    const typedCookie = (typed.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const typedPage = await (await fetch(`${named.url}/ui`, { headers: { cookie: typedCookie } })).text();
    expect(typedPage).toContain('<meta name="hermes-user" content="bob"');
  });

  it('refuses a wrong token without a cookie', async () => {
    const res = await login({ token: 'not-a-token' }, named.url);
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
  });
});

it('the automation bar shows the sha of each config file the services run', async () => {
  const { cookie } = await signIn();
  const bar = await (await fetch(`${ingest.url}/ui/live/automation`, { headers: { cookie } })).text();
  const targets = createHash('sha256').update(readFileSync('config/targets.yaml')).digest('hex');
  expect(bar).toContain(`TARGETS_FILE <code>${targets.slice(0, 8)}</code>`);
  expect(bar).toContain(`ingest TARGETS_FILE config/targets.yaml: sha ${targets.slice(0, 12)}`);
});
