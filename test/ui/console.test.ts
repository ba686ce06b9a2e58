import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post } from '../../services/ingest/test/harness.js';
import { ApprovalStore } from '../../shared/approvals.js';
import { IncidentStore } from '../../shared/incidents.js';
import { createQueue, QUEUE } from '../../shared/queues.js';
import type { ActionJob } from '../../shared/schemas/jobs.js';
import { webhookBody } from '../support/incidents.js';
import { eventually, openTestRedis, type TestRedis } from '../support/redis.js';
import { launchChromium } from './browser.js';
import { type ConsoleStack, startConsoleStack } from './stack.js';

const ARTIFACTS = 'test-artifacts/ui';
const WAIT = { timeout: 15_000 };
/** The last line of a log long enough that the console must truncate get_service_logs' output. */
const LAST_LOG_LINE = 'WARN checkout request 199 took 2300ms (p99 budget 500ms) END-OF-LOG';
const LOG = Array.from({ length: 200 }, (_, i) =>
  i === 199 ? LAST_LOG_LINE : `WARN checkout request ${i} took ${1000 + i}ms (p99 budget 500ms)`,
);

let t: TestRedis;
let stack: ConsoleStack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let store: IncidentStore;
let incidentId: string;
const pageErrors: string[] = [];
let navigations = 0;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
  t = await openTestRedis();
  store = new IncidentStore(t.redis, t.keys);
  stack = await startConsoleStack(t, LOG);
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(`${message.text()} (${message.location().url})`);
  });
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations++;
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await stack?.stop();
  await t?.close();
});

describe('incident console in headless Chromium', () => {
  it('logs in with the keyboard alone, named by the token', async () => {
    await page.goto(`${stack.ingest.url}/ui`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await page.focus('#token');
    await page.keyboard.type(stack.token);
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.pathname === '/ui', WAIT);
    await page.getByText('Signed in as alice').waitFor(WAIT);
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'hermes_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it('shows a fresh incident without a reload', async () => {
    const before = navigations;
    await page.evaluate(() => {
      (window as unknown as { stillHere: boolean }).stillHere = true;
    });
    const res = await post(
      stack.ingest.url,
      webhookBody([
        {
          alertname: 'HighLatency',
          severity: 'critical',
          service: 'checkout',
          instance: 'web-01:9100',
          annotations: {
            description: 'p99 latency above 2s',
            runbook_url: 'https://runbooks.example/high-latency',
          },
        },
      ]),
    );
    expect(res.status).toBe(202);
    incidentId = (await res.json()).incidents[0];
    const row = page.locator(`#live-incidents tr[data-incident="${incidentId}"]`);
    await row.waitFor(WAIT);
    await expect(row.textContent()).resolves.toMatch(
      /L2\s*critical.*HighLatency.*checkout on web-01:9100.*<1m/s,
    );
    expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
    expect(navigations).toBe(before);
  });

  it('opens the incident: tool calls with expandable output, links, and the pending approval', async () => {
    await page.locator(`#live-incidents tr[data-incident="${incidentId}"] a`).click();
    await page.waitForURL((url) => url.pathname === `/ui/incidents/${incidentId}`, WAIT);
    await page.locator('li.entry.type-tool_call', { hasText: 'get_service_logs' }).waitFor(WAIT);
    await page.locator('li.entry.type-tool_call', { hasText: 'check_system_resources' }).waitFor(WAIT);
    expect(await page.locator('li.entry.type-alert').first().textContent()).toContain('p99 latency above 2s');
    await expect(page.getByRole('link', { name: 'Runbook' }).getAttribute('href')).resolves.toBe(
      'https://runbooks.example/high-latency',
    );
    // The alert's graph on the Prometheus people open (PROMETHEUS_EXTERNAL_URL), and Grafana Explore.
    await expect(page.getByRole('link', { name: 'Prometheus' }).first().getAttribute('href')).resolves.toBe(
      'https://prometheus.example/graph?g0.expr=HighLatency&g0.tab=0&g0.range_input=1h',
    );
    const grafana = new URL(
      (await page.getByRole('link', { name: 'Grafana' }).getAttribute('href')) ?? 'http://missing',
    );
    expect(grafana.origin + grafana.pathname).toBe('https://grafana.example/explore');
    expect(JSON.parse(grafana.searchParams.get('left') ?? '{}').queries).toEqual([
      { refId: 'A', expr: 'HighLatency' },
    ]);
    await expect(
      page.getByRole('main').getByRole('link', { name: 'Bull Board' }).getAttribute('href'),
    ).resolves.toBe('/admin/queues');

    const logs = page.locator('li.entry.type-tool_call', { hasText: 'get_service_logs' }).locator('details');
    await expect(logs.locator('pre').isVisible()).resolves.toBe(false);
    await logs.locator('summary').click();
    await logs.locator('pre', { hasText: 'END-OF-LOG' }).waitFor(WAIT);

    const approve = page.locator('button[data-post$="/approve"]');
    await approve.waitFor(WAIT);
    const card = page.locator('article.approval');
    const text = (await card.textContent()) ?? '';
    // The exact operation and its target head the card; the tool and its arguments read as typed.
    await expect(card.locator('h3 .operation').textContent()).resolves.toMatch(
      /^run `kubectl scale deployment\/checkout --replicas=\d+` on the executor's own machine \(local target [^)]+\)$/,
    );
    expect(text).toMatch(/Toolscale_service service=checkout delta=1 reason="runbook HighLatency: /);
    expect(text).not.toContain('{"');
    // The policy's risk for a safe tool, whatever the runbook rated it.
    expect(text).toContain('risk medium');
    expect(text).toContain('runbook HighLatency: response time above threshold');
    expect(text).toContain('Scale checkout back to its baseline');
    expect(text).toMatch(/\d+m left/);

    // Live refreshes keep an expanded output open.
    const etagRefreshes = await waitForRefresh(page, `/ui/live/incidents/${incidentId}`);
    expect(etagRefreshes).toBeGreaterThan(0);
    await expect(logs.evaluate((d) => (d as HTMLDetailsElement).open)).resolves.toBe(true);
  });

  it("approves the pending action and shows the executor's decision arriving", async () => {
    const approvalId = ((await page.locator('article.approval').getAttribute('id')) ?? '').replace(
      'approval-',
      '',
    );
    await page.locator('button[data-post$="/approve"]').click();
    await page.locator('#flash', { hasText: 'approved by alice' }).waitFor(WAIT);
    await page.locator('article.approval dd.decided', { hasText: 'approved by alice' }).waitFor(WAIT);
    const action = await eventually(
      async () =>
        (await store.get(incidentId))?.actions.find(
          (a) => a.approvalId === approvalId && a.decision === 'dry_run',
        ),
      "the executor's dry_run decision for the approved action",
      15_000,
    );
    const card = page.locator(`li.action[data-action="${action.id}"]`, { hasText: 'dry run' });
    await card.waitFor(WAIT);
    // The operation in the executor's words, and what would have run as a command, not JSON.
    expect(action.operation).toMatch(/checkout/);
    await expect(card.locator('strong.operation').textContent()).resolves.toBe(action.operation);
    await expect(card.locator('.run').textContent()).resolves.toMatch(
      /^would run \$ kubectl scale deployment\/checkout --replicas=\d+$/,
    );
    expect(await card.textContent()).not.toContain('{"');
    await page.locator('li.entry.type-approval', { hasText: 'approved by alice' }).waitFor(WAIT);
  });

  it('marks a blocked action clearly', async () => {
    const actions = createQueue<ActionJob>(QUEUE.agentActions, t.redis, t.keys.bullPrefix);
    try {
      await actions.add(
        'action',
        {
          actionId: 'act-ui-drop',
          incidentId,
          tool: 'drop_table',
          args: { table: 'orders' },
          requestedBy: 'agent',
        },
        { jobId: 'act-ui-drop' },
      );
    } finally {
      await actions.close();
    }
    const blocked = page.locator('li.action[data-action="act-ui-drop"]');
    await blocked.waitFor(WAIT);
    expect(await blocked.textContent()).toContain('BLOCKED');
    await page.locator('li.entry.blocked', { hasText: 'drop_table' }).waitFor(WAIT);
    await page.screenshot({ path: `${ARTIFACTS}/incident.png`, fullPage: true });
  });

  it('acknowledges and resolves the incident from its page, audited with who did it', async () => {
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await page.locator('#flash', { hasText: 'Acknowledged: you own it' }).waitFor(WAIT);
    await page.locator('dd.owner-detail', { hasText: 'alice' }).waitFor(WAIT);
    expect(await store.getSummary(incidentId)).toMatchObject({
      status: 'escalated',
      acknowledgedBy: 'alice',
    });

    // Resolving asks first.
    const asked = new Promise<string>((resolve) =>
      page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void dialog.accept();
      }),
    );
    await page.getByRole('button', { name: 'Resolve' }).click();
    expect(await asked).toMatch(/^Resolve this incident\?/);
    await page.locator('h1 .badge.status-resolved').waitFor(WAIT);
    await expect(page.getByRole('button', { name: 'Acknowledge' }).count()).resolves.toBe(0);
    const audit = (await t.redis.xrange(t.keys.audit, '-', '+')) as [string, string[]][];
    const commands = audit
      .map(([, f]) => JSON.parse(f[f.indexOf('data') + 1] ?? '{}'))
      .filter((e) => e.incidentId === incidentId && String(e.event).startsWith('incident_'));
    expect(commands.map((e) => [e.event, e.by])).toEqual([
      ['incident_acknowledge', 'alice'],
      ['incident_resolve', 'alice'],
    ]);
  });

  it('pauses automation and shows dry-run, breaker and audit state', async () => {
    await page.getByRole('link', { name: '← All incidents' }).click();
    await page.waitForURL((url) => url.pathname === '/ui', WAIT);
    const automation = page.locator('#live-automation');
    expect(await automation.textContent()).toMatch(/Mode\s*Dry-run/);
    expect(await automation.textContent()).toMatch(/Circuit breaker\s*closed/);
    expect(await page.locator('#live-audit').textContent()).toMatch(/Audit chain verified: [1-9]\d* entries/);
    // The day's activity: this test's incident and the executor's decisions on its actions.
    await expect(page.locator('#live-activity svg').getAttribute('aria-label')).resolves.toMatch(
      /^[1-9]\d* incidents? opened and [1-9]\d* actions? decided in the last 24 hours$/,
    );
    const now = page.locator('#live-activity g').last();
    await expect(now.locator('rect.bar-incidents').getAttribute('height')).resolves.not.toBe('0');

    // Pausing asks first: dismissing the question changes nothing, accepting it pauses.
    page.once('dialog', (dialog) => dialog.dismiss());
    await page.getByRole('button', { name: 'Pause automation' }).click();
    expect(await t.redis.get(t.keys.paused)).toBeNull();
    const asked = new Promise<string>((resolve) =>
      page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void dialog.accept();
      }),
    );
    await page.getByRole('button', { name: 'Pause automation' }).click();
    expect(await asked).toMatch(/^Pause all automation\?/);
    await automation.getByText('Paused').waitFor(WAIT);
    expect(await automation.textContent()).toContain('by alice');
    expect(JSON.parse((await t.redis.get(t.keys.paused)) ?? '{}')).toMatchObject({ by: 'alice' });
    await page.getByRole('button', { name: 'Resume automation' }).waitFor(WAIT);

    // An open breaker shows with a button that asks why, then closes it through the executor.
    await t.redis.hset(t.keys.exec('dry-run:breaker'), 'state', 'open', 'reopenAt', Date.now() + 600_000);
    const close = page.getByRole('button', { name: 'Close the breaker' });
    await close.waitFor(WAIT);
    page.once('dialog', (dialog) => void dialog.accept('checked the payments hosts'));
    await close.click();
    await expect
      .poll(() => automation.textContent(), { timeout: 15_000 })
      .toMatch(/Circuit breaker\s*closed/);
    const audit = (await t.redis.xrange(t.keys.audit, '-', '+')) as [string, string[]][];
    expect(audit.map(([, f]) => f[f.indexOf('data') + 1] ?? '').join('\n')).toContain(
      '"reason":"checked the payments hosts"',
    );
  });

  it('makes a storm stand out and filters by level', async () => {
    const storm = webhookBody(
      Array.from({ length: 6 }, (_, i) => ({ alertname: `StormProbe${i}`, instance: `node-${i}` })),
    );
    expect((await post(stack.ingest.url, storm)).status).toBe(202);
    const stormRow = page.locator('tr.storm');
    await stormRow.first().waitFor(WAIT);
    expect(await stormRow.first().textContent()).toContain('STORM');
    await page.screenshot({ path: `${ARTIFACTS}/incidents.png`, fullPage: true });

    await page.selectOption('#filter-level', '3');
    await page.waitForURL((url) => url.search === '?level=3', WAIT);
    await page
      .locator(`#live-incidents tr[data-incident="${incidentId}"]`)
      .waitFor({ state: 'detached', ...WAIT });
    const levels = await page.locator('#live-incidents tbody tr td:first-child').allTextContents();
    expect(levels.length).toBeGreaterThan(0);
    for (const level of levels) expect(level).toContain('L3');
    await page.selectOption('#filter-level', '');

    // Search narrows the list as one types: alert, service, host or id.
    await page.fill('#filter-q', 'checkout web-01');
    await page.waitForURL((url) => url.search === '?q=checkout+web-01', WAIT);
    await expect
      .poll(() => page.locator('#live-incidents tbody tr').allTextContents(), WAIT)
      .toEqual([expect.stringMatching(/HighLatency.*checkout.*web-01/)]);
    await page.fill('#filter-q', 'no-such-thing');
    await page.locator('#live-incidents', { hasText: 'No incidents match.' }).waitFor(WAIT);
    await page.fill('#filter-q', '');
    await page.locator(`#live-incidents tr[data-incident="${incidentId}"]`).waitFor(WAIT);
  });

  it('denies an approval and shows who decided', async () => {
    const approvals = page.locator('#live-approvals article.approval');
    const before = await approvals.count();
    expect(before).toBeGreaterThan(0);
    const id = ((await approvals.first().getAttribute('id')) ?? '').replace('approval-', '');
    await approvals.first().locator('button[data-post$="/deny"]').click();
    await page.locator('#flash', { hasText: 'denied by alice' }).waitFor(WAIT);
    await page.locator(`#approval-${id}`).waitFor({ state: 'detached', ...WAIT });
    expect(await new ApprovalStore(t.redis, t.keys).get(id)).toMatchObject({
      status: 'denied',
      decidedBy: 'alice',
    });
  });

  it('reads on a phone', async () => {
    const phone = await context.newPage();
    try {
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.goto(`${stack.ingest.url}/ui`);
      const row = phone.locator(`#live-incidents tr[data-incident="${incidentId}"]`);
      await row.waitFor(WAIT);
      // Stacked rows still name the service and the owner.
      expect(await row.textContent()).toMatch(/resolved\s*ack alice\s*HighLatency\s*checkout/);
      const overflow = () => phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(await overflow()).toBeLessThanOrEqual(0);
      await phone.screenshot({ path: `${ARTIFACTS}/incidents-phone.png`, fullPage: true });

      // A short id (as the CLI shows it) opens the incident; its page fits the phone too.
      await phone.goto(`${stack.ingest.url}/ui/incidents/${incidentId.slice(0, 12)}`);
      await phone.waitForURL((url) => url.pathname === `/ui/incidents/${incidentId}`, WAIT);
      await phone.locator('li.action strong.operation').first().waitFor(WAIT);
      expect(await overflow()).toBeLessThanOrEqual(0);
      await phone.screenshot({ path: `${ARTIFACTS}/incident-phone.png`, fullPage: true });
      await phone.locator('#actions-title').scrollIntoViewIfNeeded();
      await phone.screenshot({ path: `${ARTIFACTS}/incident-phone-actions.png` });
    } finally {
      await phone.close();
    }
    expect(pageErrors).toEqual([]);
  });

  it('opens Bull Board with the console session', async () => {
    const board = await context.request.get(`${stack.ingest.url}/admin/queues/api/queues`);
    expect(board.status()).toBe(200);
    expect(JSON.stringify(await board.json())).toContain('"name":"triage"');
    const anonymous = await fetch(`${stack.ingest.url}/admin/queues/api/queues`);
    expect(anonymous.status).toBe(401);
  });

  it('tells the user when the session has ended instead of failing silently', async () => {
    await context.clearCookies();
    await page.getByRole('link', { name: 'Sign in again' }).waitFor(WAIT);
  });
});

/** Waits until the page has fetched `path` again (a live poll), and returns how many times it did. */
async function waitForRefresh(page: Page, path: string): Promise<number> {
  let count = 0;
  const seen = (response: { url(): string }) => {
    if (new URL(response.url()).pathname === path) count++;
  };
  page.on('response', seen);
  try {
    await eventually(async () => count >= 2, `two polls of ${path}`, 10_000);
  } finally {
    page.off('response', seen);
  }
  return count;
}
