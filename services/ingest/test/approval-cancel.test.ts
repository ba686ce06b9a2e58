import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Queue } from 'bullmq';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApprovalDecisions } from '../../../shared/approval-decisions.js';
import { createQueue, QUEUE } from '../../../shared/queues.js';
import type { NotificationJob } from '../../../shared/schemas/jobs.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { openIncident } from '../../../test/support/incidents.js';
import { eventually } from '../../../test/support/redis.js';
import { writeUsersFile } from '../../../test/support/users.js';
import type { IngestHandle } from '../service.js';
import { startTestIngest } from './harness.js';

/**
 * A human's word closes what waits for one: resolving, acknowledging or re-running an incident (or
 * its failing) cancels its pending approvals, and an approval of a closed round never runs.
 */
const run = promisify(execFile);
const admin = { authorization: 'Bearer cancel-admin', 'content-type': 'application/json' };
/** Each human acts with their own token, so what is recorded is their name. */
const people = ['alice', 'bob', 'carol', 'mallory'].map((name) => ({
  name,
  role: 'approver' as const,
  token: `${name}-token-for-cancel-tests`,
}));
const USERS_FILE = writeUsersFile(people);
let h: ExecutorHarness;
let ingest: IngestHandle;
let notifications: Queue<NotificationJob>;

beforeEach(async () => {
  h = await startExecutorHarness();
  ingest = await startTestIngest(h.t, { ADMIN_TOKEN: 'cancel-admin', USERS_FILE });
  notifications = createQueue<NotificationJob>(QUEUE.notifications.executor, h.t.redis, h.t.keys.bullPrefix);
});
afterEach(async () => {
  await notifications.close();
  await ingest.close();
  await h.close();
});

const post = (path: string, body: { by: string }) => {
  const person = people.find((p) => p.name === body.by);
  if (!person) throw new Error(`no token for ${body.by}`);
  const headers = { ...admin, authorization: `Bearer ${person.token}` };
  return fetch(`${ingest.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
};
const rollback = { service: 'api', reason: 'bad deploy' };

/** The agent asks for a rollback (a confirm tool): a pending approval. */
async function askRollback(incidentId: string, actionId?: string) {
  const outcome = await h.submit({
    incidentId,
    tool: 'rollback_deployment',
    args: rollback,
    ...(actionId ? { actionId } : {}),
  });
  expect(outcome.decision).toBe('pending_approval');
  return outcome.approvalId as string;
}

async function hermes(...args: string[]) {
  return run('node', ['bin/hermes.js', '--url', ingest.url, '--by', 'mallory', ...args], {
    env: { ...process.env, ADMIN_TOKEN: 'cancel-admin' },
  });
}

/** A console page, signed in as the console's users are. */
async function consolePage(path: string): Promise<string> {
  const login = await fetch(`${ingest.url}/ui/login`, {
    method: 'POST',
    body: new URLSearchParams({ name: 'alice', token: 'cancel-admin' }),
    redirect: 'manual',
  });
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const page = await fetch(`${ingest.url}${path}`, { headers: { cookie } });
  expect(page.status).toBe(200);
  return page.text();
}

async function pendingIds(): Promise<string[]> {
  const listed = await (await fetch(`${ingest.url}/api/approvals`, { headers: admin })).json();
  return listed.approvals.map((approval: { id: string }) => approval.id);
}

async function expectCancelled(incidentId: string, approvalId: string, by: string, reason: string) {
  const approval = await h.approvals.get(approvalId);
  expect(approval).toMatchObject({ status: 'cancelled', decidedBy: by, comment: reason });
  expect(await pendingIds()).not.toContain(approvalId);
  const incident = await h.incidents.get(incidentId);
  expect(incident?.actions.find((action) => action.id === approval?.actionId)).toMatchObject({
    decision: 'cancelled',
    reason: `approval ${approvalId} cancelled: ${reason}`,
  });
  expect(incident?.timeline).toContainEqual(
    expect.objectContaining({ type: 'approval', approvalId, decision: 'cancelled', decidedBy: by }),
  );
  // The approval's message gets its outcome, like an approve or a deny.
  const notice = await eventually(
    async () => (await notifications.getJob(`decided-${approvalId}`))?.data,
    'the cancellation notice',
  );
  expect(notice).toMatchObject({
    event: 'approval_decided',
    approvalId,
    title: 'rollback_deployment approval cancelled',
    text: `rollback_deployment will not run: its approval was cancelled (${reason}).`,
  });
}

async function refusedDecisions(approvalId: string) {
  for (const verb of ['approve', 'deny']) {
    const answer = await post(`/api/approvals/${approvalId}/${verb}`, { by: 'mallory' });
    expect(answer.status).toBe(409);
    expect((await answer.json()).error).toMatch(/^approval \S+ was already cancelled by \S+ at \S+ \(.+\)$/);
  }
  expect(await h.actions.getJob(`run-${approvalId}`)).toBeUndefined();
}

it('resolving an incident cancels its pending approval; approving it afterwards is an error and nothing runs', async () => {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
  const approvalId = await askRollback(incidentId);
  expect(await pendingIds()).toEqual([approvalId]);

  expect((await post(`/api/incidents/${incidentId}/resolve`, { by: 'alice' })).status).toBe(200);
  await expectCancelled(incidentId, approvalId, 'alice', 'resolved by alice');
  await refusedDecisions(approvalId);
  expect(h.runs()).toEqual([]);

  // The CLI says so, and refuses to approve it, with the reason.
  const shown = (await hermes('incident', incidentId)).stdout;
  expect(shown).toMatch(/ approval +executor +rollback_deployment cancelled by alice: resolved by alice$/m);
  expect(shown).toContain(`→ cancelled: approval ${approvalId} cancelled: resolved by alice`);
  expect((await hermes('approvals')).stdout).toMatch(/^no pending approvals$/m);
  await expect(hermes('approve', approvalId)).rejects.toMatchObject({
    stderr: expect.stringContaining('was already cancelled by alice at '),
  });
  // The console's card: decided as cancelled, with who and why, and no buttons.
  const page = await consolePage(`/ui/incidents/${incidentId}`);
  const card = page.slice(page.indexOf(`id="approval-${approvalId}"`));
  expect(card.slice(0, card.indexOf('</article>'))).toMatch(
    /class="badge status-cancelled">cancelled<[\s\S]*cancelled by alice[\s\S]*: resolved by alice/,
  );
  expect(card.slice(0, card.indexOf('</article>'))).not.toContain('data-post=');
  expect(h.runs()).toEqual([]);
});

it('acknowledging cancels the pending approval, and the agent may change nothing on the owned incident', async () => {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
  const approvalId = await askRollback(incidentId);
  expect((await post(`/api/incidents/${incidentId}/acknowledge`, { by: 'carol' })).status).toBe(200);
  await expectCancelled(incidentId, approvalId, 'carol', 'acknowledged by carol');
  await refusedDecisions(approvalId);

  const since = (await h.incidents.getSummary(incidentId))?.acknowledgedAt?.slice(11, 16);
  const restart = await h.submit({
    incidentId,
    tool: 'restart_service',
    args: { service: 'api', host: 'app-server-01', reason: 'still down' },
  });
  expect(restart).toMatchObject({
    decision: 'blocked',
    reason: `the incident is owned by carol since ${since} UTC`,
  });
  // Nor ask a human on it: its owner decides.
  const question = await h.submit({ incidentId, tool: 'rollback_deployment', args: rollback });
  expect(question.decision).toBe('blocked');
  expect(await pendingIds()).toEqual([]);
  expect(h.runs()).toEqual([]);
});

it('an incident that failed has its pending approvals cancelled by the sweep, and an approval of it never runs', async () => {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
  const swept = await askRollback(incidentId);
  const approved = await askRollback(incidentId, 'act-second-rollback');
  // A human approves one just before the incident fails; ingest dies before queueing its run.
  expect((await h.approvals.decide(approved, 'approved', 'dave')).ok).toBe(true);
  expect(await h.incidents.setStatus(incidentId, 'failed', 'triage')).toBe('awaiting_approval');

  const decisions = new ApprovalDecisions(h.approvals, h.incidents, h.actions, notifications);
  await h.sweep(decisions, Date.now() + 31_000);
  await expectCancelled(incidentId, swept, 'triage', 'the incident failed');

  const run = await eventually(
    async () => h.incidents.getAction(incidentId, `run-${approved}`),
    'the approved run decided',
  );
  expect(run).toMatchObject({ decision: 'blocked', reason: 'the incident failed' });
  expect(h.runs()).toEqual([]);
});

it('a re-run cancels the pending approval; approving the old one is an error, the new round runs once', async () => {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
  const old = await askRollback(incidentId);
  expect((await post(`/api/incidents/${incidentId}/rerun`, { by: 'bob' })).status).toBe(200);
  await expectCancelled(incidentId, old, 'bob', 're-run by bob');

  const fresh = await askRollback(incidentId, 'act-rerun-rollback');
  expect(await pendingIds()).toEqual([fresh]);
  await refusedDecisions(old);
  expect((await post(`/api/approvals/${fresh}/approve`, { by: 'bob' })).status).toBe(200);
  expect(
    await eventually(
      async () => (await h.incidents.getAction(incidentId, `run-${fresh}`))?.decision,
      'the run',
    ),
  ).toBe('executed');
  expect(h.runs()).toEqual(['rollback api']);
});

it('two approvals of the same change in one round run it once: the second is refused naming the first', async () => {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
  const old = await askRollback(incidentId);
  // Approved just before the re-run, its run not queued yet (ingest died before settling it).
  expect((await h.approvals.decide(old, 'approved', 'alice')).ok).toBe(true);
  expect((await post(`/api/incidents/${incidentId}/rerun`, { by: 'bob' })).status).toBe(200);
  expect((await h.approvals.get(old))?.status).toBe('approved');

  const fresh = await askRollback(incidentId, 'act-rerun-rollback');
  expect((await post(`/api/approvals/${fresh}/approve`, { by: 'bob' })).status).toBe(200);
  const decided = (id: string) =>
    eventually(async () => (await h.incidents.getAction(incidentId, `run-${id}`))?.decision, `run-${id}`);
  expect(await decided(fresh)).toBe('executed');

  // The executor's sweep settles the stranded approval: its run comes in the same round.
  const approval = await h.approvals.get(old);
  await new ApprovalDecisions(h.approvals, h.incidents, h.actions, notifications).settle(
    approval as NonNullable<typeof approval>,
    'executor',
  );
  expect(await decided(old)).toBe('blocked');
  expect((await h.incidents.getAction(incidentId, `run-${old}`))?.reason).toBe(
    `rollback_deployment of api already ran in this round (run-${fresh}); a second approval does not run it again`,
  );
  expect(h.runs()).toEqual(['rollback api']);
});
