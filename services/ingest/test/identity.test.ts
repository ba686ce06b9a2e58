import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audited as auditedIn } from '../../../test/support/audit.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { openIncident } from '../../../test/support/incidents.js';
import { eventually } from '../../../test/support/redis.js';
import { writeUsersFile } from '../../../test/support/users.js';
import type { IngestHandle } from '../service.js';
import { startTestIngest } from './harness.js';

const ADMIN_TOKEN = 'identity-break-glass-token';
const USERS = {
  vera: { name: 'vera', role: 'viewer', token: 'vera-token-0123456789abcdef' },
  bob: { name: 'bob', role: 'operator', token: 'bob-token-0123456789abcdef' },
  ann: { name: 'ann', role: 'approver', token: 'ann-token-0123456789abcdef' },
} as const;

let h: ExecutorHarness;
let ingest: IngestHandle;

beforeAll(async () => {
  h = await startExecutorHarness();
  ingest = await startTestIngest(h.t, {
    ADMIN_TOKEN,
    USERS_FILE: writeUsersFile(Object.values(USERS)),
  });
});
afterAll(async () => {
  await ingest?.close();
  await h?.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const post = (path: string, body: unknown, headers: Record<string, string>) =>
  fetch(`${ingest.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const audited = (event: string) => auditedIn(h.t, event);

/** Signs in to the console as the form allows and returns the cookie and the page's CSRF token. */
async function signIn(fields: Record<string, string>): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${ingest.url}/ui/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
    redirect: 'manual',
  });
  expect(res.status).toBe(303);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const page = await (await fetch(`${ingest.url}/ui`, { headers: { cookie } })).text();
  const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(page)?.[1] ?? '';
  return { cookie, csrf };
}

describe('who did it comes from the credential, not the body', () => {
  it('a console session signed in as bob cannot acknowledge as alice', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'DiskFull', service: 'db' });
    const { cookie, csrf } = await signIn({ name: 'bob', token: ADMIN_TOKEN });
    const res = await post(
      `/api/incidents/${incidentId}/acknowledge`,
      { by: 'alice' },
      {
        cookie,
        'x-csrf-token': csrf,
      },
    );
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toMatch(/signed in as bob/);
    expect((await h.incidents.getSummary(incidentId))?.acknowledgedBy).toBeUndefined();
    expect(await audited('incident_acknowledge')).toEqual([]);
  });

  it('records a named credential by its name in the audit trail, the timeline and the incident', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'DiskFull', service: 'web' });
    const claimed = await post(
      `/api/incidents/${incidentId}/acknowledge`,
      { by: 'alice' },
      bearer(USERS.bob.token),
    );
    expect(claimed.status).toBe(403);
    expect(((await claimed.json()) as { error: string }).error).toBe(
      'by "alice" is not the name of your credential (bob)',
    );
    const own = await post(`/api/incidents/${incidentId}/acknowledge`, {}, bearer(USERS.bob.token));
    expect(own.status).toBe(200);
    expect((await h.incidents.getSummary(incidentId))?.acknowledgedBy).toBe('bob');
    expect(await audited('incident_acknowledge')).toEqual([
      expect.objectContaining({ incidentId, by: 'bob' }),
    ]);
    const status = (await h.incidents.timeline(incidentId)).filter((entry) => entry.type === 'status');
    expect(status.at(-1)).toMatchObject({ status: 'escalated', by: 'human:bob' });
  });

  it('marks every use of the break-glass ADMIN_TOKEN, whoever it names', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'DiskFull', service: 'queue' });
    const res = await post(`/api/incidents/${incidentId}/resolve`, { by: 'alice' }, bearer(ADMIN_TOKEN));
    expect(res.status).toBe(200);
    expect(await audited('incident_resolve')).toEqual([
      expect.objectContaining({ incidentId, by: 'alice+break-glass' }),
    ]);
    const paused = await post('/api/automation/pause', {}, bearer(ADMIN_TOKEN));
    expect(await paused.json()).toMatchObject({ paused: true, by: 'admin+break-glass' });
    expect((await post('/api/automation/resume', {}, bearer(USERS.bob.token))).status).toBe(200);
  });

  it('refuses what the credential has no role for, with the role it needs', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'DiskFull', service: 'cache' });
    const read = await fetch(`${ingest.url}/api/incidents/${incidentId}`, {
      headers: bearer(USERS.vera.token),
    });
    expect(read.status).toBe(200);
    const ack = await post(`/api/incidents/${incidentId}/acknowledge`, {}, bearer(USERS.vera.token));
    expect(ack.status).toBe(403);
    expect(await ack.json()).toEqual({ error: 'vera (viewer) may not do this: it needs the operator role' });
    const pause = await post('/api/automation/pause', {}, bearer(USERS.vera.token));
    expect(pause.status).toBe(403);
    expect(await h.t.redis.get(h.t.keys.paused)).toBeNull();

    const asked = await h.submit({
      incidentId,
      tool: 'request_human_confirmation',
      args: { action_description: 'Look at the cache', reason: 'no safe fix', risk_level: 'low' },
    });
    const byOperator = await post(`/api/approvals/${asked.approvalId}/approve`, {}, bearer(USERS.bob.token));
    expect(byOperator.status).toBe(403);
    expect(await byOperator.json()).toEqual({
      error: 'bob (operator) may not do this: it needs the approver role',
    });
    const byApprover = await post(`/api/approvals/${asked.approvalId}/approve`, {}, bearer(USERS.ann.token));
    expect(byApprover.status).toBe(200);
    expect(await byApprover.json()).toMatchObject({ approval: { decidedBy: 'ann' } });
    await eventually(
      async () => (await h.incidents.getSummary(incidentId))?.acknowledgedBy === 'ann',
      'ann to own the incident',
    );
  });

  it('Bull Board: any named credential looks, only an operator may change queues', async () => {
    const basic = (token: string) => ({
      authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}`,
    });
    expect(
      (await fetch(`${ingest.url}/admin/queues/api/queues`, { headers: basic(USERS.vera.token) })).status,
    ).toBe(200);
    const clean = (token: string) =>
      fetch(`${ingest.url}/admin/queues/api/queues/triage/clean/completed`, {
        method: 'PUT',
        headers: basic(token),
      });
    expect((await clean(USERS.vera.token)).status).toBe(403);
    expect((await clean(USERS.bob.token)).status).toBe(200);
  });

  it('refuses a reason or a name with nothing visible in it', async () => {
    const breakGlass = await post(
      '/api/automation/breaker/reset',
      { by: 'alice', reason: '   ' },
      bearer(ADMIN_TOKEN),
    );
    expect(breakGlass.status).toBe(400);
    const reset = await post('/api/automation/breaker/reset', { reason: ' \t ' }, bearer(USERS.bob.token));
    expect(reset.status).toBe(400);
    expect(await audited('breaker_reset')).toEqual([]);
  });
});
