import { Hono } from 'hono';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createLogger } from '../../../shared/logger.js';
import { webhookBody } from '../../../test/support/incidents.js';
import { openTestRedis } from '../../../test/support/redis.js';
import { adminGate, requireRole } from '../auth.js';
import { RefusalLog } from '../refusal-log.js';
import { crossSiteRefusal, isLoopback, loopbackHostRefusal } from '../request-origin.js';
import type { IngestHandle } from '../service.js';
import { startTestIngest } from './harness.js';

/** Calls a Hono app as @hono/node-server would, from `address`. */
function from(app: Hono, address: string, path = '/x', init: RequestInit = {}) {
  return app.request(path, init, { incoming: { socket: { remoteAddress: address } } });
}

describe('without tokens', () => {
  it('answers this machine only', async () => {
    const t = await openTestRedis();
    onTestFinished(() => t.close());
    const app = new Hono();
    const gate = adminGate(undefined, [], t.redis, t.keys, new RefusalLog(createLogger('test', 'silent')));
    app.post('/x', requireRole(gate, 'operator'), (c) => c.text('ok'));
    for (const address of ['127.0.0.1', '127.4.5.6', '::1', '::ffff:127.0.0.1'])
      expect(
        (await from(app, address, '/x', { method: 'POST', headers: { host: 'localhost' } })).status,
      ).toBe(200);
    for (const address of ['10.0.0.5', '192.0.2.1', '::ffff:192.0.2.1', 'fe80::1']) {
      const res = await from(app, address, '/x', { method: 'POST', headers: { host: 'localhost' } });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'no token is set: only this machine may use this' });
    }
    expect(isLoopback(undefined)).toBe(false);
  });

  it('takes only loopback names and addresses as Host, with any port', () => {
    for (const host of ['localhost', 'LOCALHOST:8080', '127.0.0.1', '127.1.2.3:9', '[::1]', '[::1]:8080'])
      expect(loopbackHostRefusal(host), host).toBeNull();
    for (const host of [
      undefined,
      '',
      'evil.example',
      'evil.example:8080',
      'localhost.evil.example',
      '127.0.0.1.nip.io',
      '10.0.0.1',
      '[::2]',
    ])
      expect(loopbackHostRefusal(host), String(host)).toMatch(
        /is not this machine: without tokens only localhost may be used$/,
      );
  });
});

describe('cross-site writes', () => {
  it('are told apart from same-origin browsers and from other clients', () => {
    expect(crossSiteRefusal({ host: '127.0.0.1:8080' })).toBeNull();
    expect(crossSiteRefusal({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' })).toBeNull();
    expect(crossSiteRefusal({ host: '127.0.0.1:8080', 'sec-fetch-site': 'same-origin' })).toBeNull();
    expect(crossSiteRefusal({ host: '127.0.0.1:8080', origin: 'https://evil.example' })).toMatch(/Origin/);
    expect(crossSiteRefusal({ host: 'localhost:8080', 'sec-fetch-site': 'same-site' })).toMatch(/same-site/);
    expect(crossSiteRefusal({ host: 'localhost:8080', 'sec-fetch-site': 'cross-site' })).toMatch(
      /cross-site/,
    );
  });

  it('are refused on the webhook and the API, with or without a token, and change nothing', async () => {
    const t = await openTestRedis();
    let ingest: IngestHandle | undefined;
    try {
      ingest = await startTestIngest(t, { ADMIN_TOKEN: 'origin-admin' });
      const page = { origin: 'https://evil.example', 'content-type': 'text/plain' };
      const webhook = await fetch(`${ingest.url}/webhooks/alertmanager`, {
        method: 'POST',
        headers: page,
        body: JSON.stringify(webhookBody([{ alertname: 'Injected' }])),
      });
      expect(webhook.status).toBe(403);
      expect(await t.redis.zcard(t.keys.incidentIndex)).toBe(0);
      const pause = await fetch(`${ingest.url}/api/automation/pause`, {
        method: 'POST',
        headers: { ...page, authorization: 'Bearer origin-admin', 'sec-fetch-site': 'cross-site' },
        body: JSON.stringify({ by: 'mallory' }),
      });
      expect(pause.status).toBe(403);
      expect(await t.redis.get(t.keys.paused)).toBeNull();
    } finally {
      await ingest?.close();
      await t.close();
    }
  });
});
