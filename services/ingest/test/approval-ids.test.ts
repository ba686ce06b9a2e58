import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { openIncident } from '../../../test/support/incidents.js';
import type { IngestHandle } from '../service.js';
import { startTestIngest } from './harness.js';

// Two approvals minted in the same millisecond by one executor share all but their counter: the
// first one's 10-character short id also begins the second's.
const A = 'apr_mk2p9x1ac0ffee000001';
const B = 'apr_mk2p9x1ac0ffee000002';
const crafted = vi.hoisted(() => ({ next: [] as string[] }));
vi.mock('../../../shared/ids.js', async (original) => {
  const real = await original<typeof import('../../../shared/ids.js')>();
  return {
    randomId: (prefix: string) => (prefix === 'apr' && crafted.next.shift()) || real.randomId(prefix),
  };
});

const run = promisify(execFile);
const admin = { authorization: 'Bearer ids-admin', 'content-type': 'application/json' };
const SHORT_A = A.slice(0, 10);
let h: ExecutorHarness;
let ingest: IngestHandle;

beforeEach(async () => {
  crafted.next = [A, B];
  h = await startExecutorHarness();
  ingest = await startTestIngest(h.t, { ADMIN_TOKEN: 'ids-admin' });
});
afterEach(async () => {
  await ingest.close();
  await h.close();
});

async function pendingRollback(service: string): Promise<string> {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service });
  const outcome = await h.submit({
    incidentId,
    tool: 'rollback_deployment',
    args: { service, reason: 'bad' },
  });
  expect(outcome.decision).toBe('pending_approval');
  return outcome.approvalId as string;
}

function hermes(...args: string[]) {
  return run('node', ['bin/hermes.js', '--url', ingest.url, '--by', 'carol', ...args], {
    env: { ...process.env, ADMIN_TOKEN: 'ids-admin' },
  });
}

async function listed(): Promise<{ id: string; shortId: string }[]> {
  return (await (await fetch(`${ingest.url}/api/approvals`, { headers: admin })).json()).approvals;
}

it("a denied approval's short id never approves a later approval that shares it", async () => {
  expect(await pendingRollback('api')).toBe(A);
  expect(await listed()).toEqual([expect.objectContaining({ id: A, shortId: SHORT_A })]);
  const denied = await fetch(`${ingest.url}/api/approvals/${SHORT_A}/deny`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ by: 'bob' }),
  });
  expect(denied.status).toBe(200);
  expect(await pendingRollback('web')).toBe(B);

  // The prefix a human copied for A now also begins B: refused, naming both with their status.
  await expect(hermes('approve', SHORT_A)).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringMatching(
      new RegExp(`409 approval id ${SHORT_A} is ambiguous: ${A} \\(denied\\), ${B} \\(pending\\)`),
    ),
  });
  expect((await h.approvals.get(B))?.status).toBe('pending');
  expect(h.runs()).toEqual([]);

  // A's whole id names A, which is closed: said with who and when, never another approval.
  const decidedAt = (await h.approvals.get(A))?.decidedAt as string;
  await expect(hermes('approve', A)).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringContaining(
      `409 approval ${A} was already denied by bob+break-glass at ${decidedAt}`,
    ),
  });
  expect((await h.approvals.get(B))?.status).toBe('pending');
  expect(h.runs()).toEqual([]);

  // Lists now show B by a prefix A does not share, and that prefix approves B.
  const [shown] = await listed();
  expect(shown).toMatchObject({ id: B, shortId: B.slice(0, 24) });
  const table = (await hermes('approvals')).stdout;
  expect(table).toMatch(new RegExp(`^${B}\\s+inc_`, 'm'));
  await hermes('approve', B.slice(0, 24));
  expect((await h.approvals.get(B))?.status).toMatch(/approved|used/);
});

it('resolves a prefix among every approval ever issued, not only pending ones', async () => {
  expect(await pendingRollback('api')).toBe(A);
  const deny = (id: string) =>
    fetch(`${ingest.url}/api/approvals/${id}/deny`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ by: 'bob' }),
    });
  expect((await deny(A)).status).toBe(200);
  // Only A was issued: its short id still names A (closed), not "not found".
  const again = await deny(SHORT_A);
  expect(again.status).toBe(409);
  expect((await again.json()).error).toMatch(
    new RegExp(`^approval ${A} was already denied by bob\\+break-glass at `),
  );
  expect((await deny('apr_nothing')).status).toBe(404);
  expect((await deny('apr_%2Fx')).status).toBe(404);
});
