import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { post } from '../../services/ingest/test/harness.js';
import { IncidentStore } from '../../shared/incidents.js';
import type { IncidentStatus } from '../../shared/schemas/incident.js';
import { type TestAlert, webhookBody } from '../support/incidents.js';
import { eventually, openTestRedis, type TestRedis } from '../support/redis.js';
import { launchChromium } from './browser.js';
import { type ConsoleStack, startConsoleStack } from './stack.js';

// The console answers "what needs me?" first: seven incidents, four escalated, one waiting for an
// approval, one fix being verified, as a new user met them; on a phone and on a laptop.
const SHOTS = '/tmp/hermes-console';
const WAIT = { timeout: 15_000 };

let t: TestRedis;
let stack: ConsoleStack;
let browser: Browser;
let context: BrowserContext;
let store: IncidentStore;
const ids: Record<string, string> = {};

async function open(name: string, alert: TestAlert, reaches: IncidentStatus): Promise<string> {
  const res = await post(stack.ingest.url, webhookBody([alert]));
  expect(res.status).toBe(202);
  const id = ((await res.json()) as { incidents: string[] }).incidents[0] as string;
  await eventually(async () => (await store.getStatus(id)) === reaches, `${name} to be ${reaches}`, 20_000);
  ids[name] = id;
  return id;
}

async function api(path: string, body: unknown) {
  const res = await fetch(`${stack.ingest.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
    body: JSON.stringify(body),
  });
  expect(res.status, path).toBeLessThan(300);
}

beforeAll(async () => {
  browser = await launchChromium();
  t = await openTestRedis();
  store = new IncidentStore(t.redis, t.keys);
  stack = await startConsoleStack(t, ['ERROR checkout request failed'], { STORM_THRESHOLD: '50' });

  // Oldest first. Level 3: nothing automated, a human must take over.
  await open(
    'failover',
    { alertname: 'DatabaseFailover', severity: 'critical', instance: 'db-01:9100' },
    'escalated',
  );
  // Dry-run: the restart and the clean-up would have run, so both go to a human.
  await open(
    'payments',
    { alertname: 'ServiceDown', severity: 'critical', service: 'payments', instance: 'pay-01:9100' },
    'escalated',
  );
  await open(
    'disk',
    { alertname: 'DiskSpaceLow', severity: 'warning', service: 'logs', instance: 'log-01:9100' },
    'escalated',
  );
  await api(`/api/incidents/${ids.disk}/acknowledge`, { by: 'alice' });
  await open(
    'search',
    { alertname: 'ServiceDown', severity: 'critical', service: 'search', instance: 'search-01:9100' },
    'escalated',
  );
  // A fix that ran and is being re-checked (what triage records; services/triage/test drive it for real).
  await open(
    'orders',
    { alertname: 'QueueBacklog', severity: 'warning', service: 'orders', instance: 'worker-01:9100' },
    'escalated',
  );
  await store.setVerification(ids.orders as string, {
    actionIds: ['act-orders-restart'],
    since: new Date().toISOString(),
    until: new Date(Date.now() + 120_000).toISOString(),
    everySeconds: 5,
  });
  await store.setStatus(ids.orders as string, 'verifying', 'triage');
  // Resolved by a human.
  await open(
    'cart',
    { alertname: 'HighErrorRate', severity: 'warning', service: 'cart', instance: 'cart-01:9100' },
    'awaiting_approval',
  );
  await api(`/api/incidents/${ids.cart}/resolve`, { by: 'alice' });
  await eventually(async () => (await store.getStatus(ids.cart as string)) === 'resolved', 'cart resolved');
  // Newest: the runbook asks a human to approve a scale-up.
  await open(
    'latency',
    { alertname: 'HighLatency', severity: 'critical', service: 'checkout', instance: 'web-01:9100' },
    'awaiting_approval',
  );

  context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${stack.ingest.url}/ui`);
  await page.fill('#name', 'alice');
  await page.fill('#token', stack.token);
  await page.keyboard.press('Enter');
  await page.waitForURL((url) => url.pathname === '/ui', WAIT);
  await page.close();
}, 180_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await stack?.stop();
  await t?.close();
});

/** The incident ids of a list's rows, top to bottom. */
async function rowsOf(page: Page, list: string): Promise<string[]> {
  return page
    .locator(`${list} tbody tr`)
    .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-incident') ?? ''));
}

it('lists what needs a human first: nobody on it before owned, escalated before awaiting approval, the higher level first', async () => {
  const page = await context.newPage();
  try {
    await page.goto(`${stack.ingest.url}/ui`);
    expect(await rowsOf(page, '#live-needs-a-human')).toEqual([
      ids.failover,
      ids.search,
      ids.payments,
      ids.latency,
      ids.disk,
    ]);
    // Each row: where (the target's words), level, age and one line of what is going on.
    const failover = page.locator(`#live-needs-a-human tr[data-incident="${ids.failover}"]`);
    await expect(failover.locator('.c-level').textContent()).resolves.toMatch(/^L3\s*critical$/);
    await expect(failover.locator('.c-age').textContent()).resolves.toMatch(/^(<1m|\dm)$/);
    await expect(failover.locator('.c-summary').textContent()).resolves.toBe(
      'This is a level-3 incident: no automated change is allowed; a human must take over.',
    );
    const latency = page.locator(`#live-needs-a-human tr[data-incident="${ids.latency}"]`);
    await expect(latency.locator('.c-where').textContent()).resolves.toBe(
      "checkout on the executor's machine",
    );
    await expect(latency.locator('.c-where').getAttribute('title')).resolves.toBe(
      "checkout on the executor's own machine (local target test-machine)",
    );
    await expect(latency.locator('.c-summary').textContent()).resolves.toMatch(
      /^approve\? run `kubectl scale deployment\/checkout --replicas=\d+`/,
    );
    await expect(
      page.locator(`#live-needs-a-human tr[data-incident="${ids.disk}"] .c-status`).textContent(),
    ).resolves.toMatch(/escalated\s*ack alice/);
    // Below: the full list, newest first, with what is not waiting for anyone.
    const all = await rowsOf(page, '#live-incidents');
    expect(all.slice(0, 3)).toEqual([ids.latency, ids.cart, ids.orders]);
    await expect(
      page.locator(`#live-incidents tr[data-incident="${ids.orders}"] .c-summary`).textContent(),
    ).resolves.toMatch(/^fix ran; re-checking every 5 s until \d\d:\d\d:\d\d UTC$/);
    // The automation state is one bar above it all.
    await expect(page.locator('section.bar').textContent()).resolves.toMatch(
      /Automation\s*Running.*Mode\s*Dry-run.*Circuit breaker\s*closed.*Audit chain verified/s,
    );
    await page.screenshot({ path: `${SHOTS}-1366.png` });
    await page.screenshot({ path: `${SHOTS}-1366-full.png`, fullPage: true });
    const first = await page.locator('#live-needs-a-human tbody tr').first().boundingBox();
    expect((first?.y ?? Infinity) + (first?.height ?? 0)).toBeLessThanOrEqual(900);
  } finally {
    await page.close();
  }
});

it('on a phone (390×844) the first incident that needs a human is on the first screen, and every row takes at most three lines', async () => {
  const page = await context.newPage();
  try {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${stack.ingest.url}/ui`);
    const first = page.locator('#live-needs-a-human tbody tr').first();
    await expect(first.getAttribute('data-incident')).resolves.toBe(ids.failover);
    const box = await first.boundingBox();
    expect(box).not.toBeNull();
    expect((box?.y ?? Infinity) + (box?.height ?? 0)).toBeLessThanOrEqual(844);
    // Lines each row takes: its height over the body's line height (badges and padding included).
    const lines = await page.locator('table.incidents tbody tr').evaluateAll((rows) =>
      rows.map((row) => {
        const style = getComputedStyle(row);
        const content =
          row.getBoundingClientRect().height - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
        return content / parseFloat(getComputedStyle(document.body).lineHeight);
      }),
    );
    expect(lines.length).toBeGreaterThanOrEqual(12);
    for (const count of lines) expect(count).toBeLessThanOrEqual(3.5);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: `${SHOTS}-390.png` });
    await page.screenshot({ path: `${SHOTS}-390-full.png`, fullPage: true });
  } finally {
    await page.close();
  }
});

it("shows a fix being verified on the incident's page: which fix, how often, until when; re-run is not offered", async () => {
  const page = await context.newPage();
  try {
    await page.goto(`${stack.ingest.url}/ui/incidents/${ids.orders}`);
    await expect(page.locator('p.verifying').textContent()).resolves.toMatch(
      /^Verifying act-orders-restart \(since \d\d:\d\d:\d\d UTC\): re-checking every 5 s until \d\d:\d\d:\d\d UTC$/,
    );
    await expect(page.locator('h1 .badge.status-verifying').textContent()).resolves.toBe('verifying');
    await expect(page.getByRole('button', { name: 'Re-run triage' }).count()).resolves.toBe(0);
    await page.screenshot({ path: `${SHOTS}-verifying.png` });
  } finally {
    await page.close();
  }
});
