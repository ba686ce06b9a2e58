import type { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalDecisions } from '../../../shared/approval-decisions.js';
import { createQueue, QUEUE } from '../../../shared/queues.js';
import type { Approval } from '../../../shared/schemas/approval.js';
import type { NotificationJob } from '../../../shared/schemas/jobs.js';
import { audited as auditedIn } from '../../../test/support/audit.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { slackInteractionRequest } from '../../../test/support/fake-slack.js';
import { openIncident } from '../../../test/support/incidents.js';
import { eventually } from '../../../test/support/redis.js';
import type { IngestHandle } from '../service.js';
import { startTestIngest } from './harness.js';

const SECRET = 'slack-signing-secret';
const admin = { authorization: 'Bearer approvals-admin', 'content-type': 'application/json' };
let h: ExecutorHarness;
let ingest: IngestHandle;

beforeEach(async () => {
  h = await startExecutorHarness();
  ingest = await startTestIngest(h.t, { ADMIN_TOKEN: 'approvals-admin', SLACK_SIGNING_SECRET: SECRET });
});
afterEach(async () => {
  await ingest.close();
  await h.close();
});

async function pendingRollback() {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
  const outcome = await h.submit({
    incidentId,
    tool: 'rollback_deployment',
    args: { service: 'api', reason: 'bad deploy' },
  });
  expect(outcome.decision).toBe('pending_approval');
  return { incidentId, approvalId: outcome.approvalId as string };
}

async function actionDecision(incidentId: string, approvalId: string) {
  return eventually(
    async () => (await h.incidents.getAction(incidentId, `run-${approvalId}`))?.decision,
    `the executor's decision on run-${approvalId}`,
  );
}

it('approving through the API makes the executor run that exact action once', async () => {
  const { incidentId, approvalId } = await pendingRollback();
  const listed = await (await fetch(`${ingest.url}/api/approvals`, { headers: admin })).json();
  expect(listed.approvals.map((a: { id: string }) => a.id)).toEqual([approvalId]);

  const approved = await fetch(`${ingest.url}/api/approvals/${approvalId}/approve`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ by: 'alice', comment: 'go' }),
  });
  expect(approved.status).toBe(200);
  // The break-glass ADMIN_TOKEN names anyone, marked as such.
  expect((await approved.json()).approval).toMatchObject({
    status: 'approved',
    decidedBy: 'alice+break-glass',
  });
  expect(await actionDecision(incidentId, approvalId)).toBe('executed');
  expect(h.runs()).toHaveLength(1);

  const again = await fetch(`${ingest.url}/api/approvals/${approvalId}/approve`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ by: 'mallory' }),
  });
  expect(again.status).toBe(409);
  expect((await again.json()).error).toMatch(
    new RegExp(`^approval ${approvalId} was already approved by alice\\+break-glass at \\S+( and spent)?$`),
  );
  expect(h.runs()).toHaveLength(1);
  const incident = await h.incidents.get(incidentId);
  expect(incident?.timeline.some((e) => e.type === 'approval' && e.decidedBy === 'alice+break-glass')).toBe(
    true,
  );
});

it('a signed Slack Deny click denies it, runs nothing, and hands the incident to humans', async () => {
  const { incidentId, approvalId } = await pendingRollback();
  const click = slackInteractionRequest({ signingSecret: SECRET, approvalId, action: 'deny' });
  const res = await fetch(`${ingest.url}/slack/interactions`, {
    method: 'POST',
    headers: click.headers,
    body: click.body,
  });
  expect(res.status).toBe(200);
  expect(await actionDecision(incidentId, approvalId)).toBe('denied');
  expect(h.runs()).toEqual([]);
  expect((await h.approvals.get(approvalId))?.decidedBy).toBe('slack-oncall');
  expect((await h.incidents.getSummary(incidentId))?.status).toBe('escalated');
});

it('refuses unsigned, tampered and replayed Slack clicks, and API calls without the admin token', async () => {
  const { approvalId } = await pendingRollback();
  const click = slackInteractionRequest({ signingSecret: SECRET, approvalId, action: 'approve' });
  const forged = slackInteractionRequest({ signingSecret: 'not-the-secret', approvalId, action: 'approve' });
  const old = slackInteractionRequest({
    signingSecret: SECRET,
    approvalId,
    action: 'approve',
    timestamp: Math.floor(Date.now() / 1000) - 600,
  });
  const post = (headers: Record<string, string>, body: string) =>
    fetch(`${ingest.url}/slack/interactions`, { method: 'POST', headers, body });
  expect((await post({ 'content-type': click.headers['content-type'] as string }, click.body)).status).toBe(
    401,
  );
  expect((await post(forged.headers, forged.body)).status).toBe(401);
  expect((await post(old.headers, old.body)).status).toBe(401);
  expect((await post(click.headers, click.body.replace('approve', 'approvE'))).status).toBe(401);
  const noToken = await fetch(`${ingest.url}/api/approvals/${approvalId}/approve`, {
    method: 'POST',
    body: JSON.stringify({ by: 'eve' }),
  });
  expect(noToken.status).toBe(401);
  expect((await h.approvals.get(approvalId))?.status).toBe('pending');
  expect(h.runs()).toEqual([]);
});

describe('a decision whose deciding process died before its consequences', () => {
  let notifications: Queue<NotificationJob>;
  beforeEach(() => {
    notifications = createQueue<NotificationJob>(
      QUEUE.notifications.executor,
      h.t.redis,
      h.t.keys.bullPrefix,
    );
  });
  afterEach(() => notifications.close());
  const decisions = () => new ApprovalDecisions(h.approvals, h.incidents, h.actions, notifications);
  const approvalEntries = async (incidentId: string) =>
    ((await h.incidents.get(incidentId))?.timeline ?? []).filter((e) => e.type === 'approval');

  it('is settled by the executor sweeper once the grace period has passed, exactly once', async () => {
    const { incidentId, approvalId } = await pendingRollback();
    // What ingest does first; it is killed before queueing the action or writing anything else.
    expect((await h.approvals.decide(approvalId, 'approved', 'alice', 'go')).ok).toBe(true);
    expect((await h.approvals.unsettled()).map((a) => a.id)).toEqual([approvalId]);

    await h.sweep(decisions(), Date.now() + 1_000);
    expect(await h.actions.getJob(`run-${approvalId}`)).toBeUndefined();

    const later = Date.now() + h.settleGraceMs + 1_000;
    await h.sweep(decisions(), later);
    expect(await actionDecision(incidentId, approvalId)).toBe('executed');
    expect(h.runs()).toHaveLength(1);
    expect(await h.approvals.unsettled()).toEqual([]);
    expect((await notifications.getJob(`decided-${approvalId}`))?.data.title).toBe(
      'rollback_deployment approved by alice',
    );

    // Settling again (a sweeper that died before settling) changes nothing.
    await decisions().settle((await h.approvals.get(approvalId)) as Approval, 'executor');
    expect(await approvalEntries(incidentId)).toHaveLength(1);
    expect(h.runs()).toHaveLength(1);
  });

  it('records what is missing without running the action again once the executor has spent it', async () => {
    const { incidentId, approvalId } = await pendingRollback();
    expect((await h.approvals.decide(approvalId, 'approved', 'alice')).ok).toBe(true);
    // Ingest queued the action job and died before the timeline entry and the notice.
    await h.actions.add(
      'action',
      {
        actionId: `run-${approvalId}`,
        incidentId,
        tool: 'rollback_deployment',
        args: { service: 'api', reason: 'bad deploy' },
        requestedBy: 'human:alice',
        approvalId,
      },
      { jobId: `run-${approvalId}` },
    );
    expect(await actionDecision(incidentId, approvalId)).toBe('executed');
    expect((await h.approvals.get(approvalId))?.status).toBe('used');

    await h.sweep(decisions(), Date.now() + h.settleGraceMs + 1_000);
    expect((await approvalEntries(incidentId)).map((e) => [e.decision, e.decidedBy])).toEqual([
      ['approved', 'alice'],
    ]);
    expect((await notifications.getJob(`decided-${approvalId}`))?.data.title).toBe(
      'rollback_deployment approved by alice',
    );
    expect(h.runs()).toHaveLength(1);
    expect(await h.approvals.unsettled()).toEqual([]);
  });

  it('a decision through ingest leaves nothing unsettled', async () => {
    const { approvalId } = await pendingRollback();
    // The request's notice was written with the approval, then queued and cleared.
    expect((await notifications.getJob(`approval-${approvalId}`))?.data.event).toBe('approval_requested');
    expect(await h.t.redis.hlen(h.t.keys.outbox('executor'))).toBe(0);
    const denied = await fetch(`${ingest.url}/api/approvals/${approvalId}/deny`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ by: 'bob' }),
    });
    expect(denied.status).toBe(200);
    expect(await h.approvals.unsettled()).toEqual([]);
  });

  it('a click after expiry, before the sweeper saw it, still escalates the incident and tells the humans', async () => {
    const { incidentId, approvalId } = await pendingRollback();
    await h.t.redis.hset(h.t.keys.approval(approvalId), 'expiresMs', String(Date.now() - 1));
    const late = await h.approvals.decide(approvalId, 'approved', 'alice');
    expect(late).toEqual({ ok: false, reason: 'expired' });
    // The approval left the pending index, so only the unsettled one leads the sweeper to it.
    expect(await h.approvals.expireDue()).toEqual([]);

    await h.sweep(decisions());
    expect((await h.incidents.getSummary(incidentId))?.status).toBe('escalated');
    expect(
      (await h.incidents.getAction(incidentId, (await h.approvals.get(approvalId))?.actionId as string))
        ?.decision,
    ).toBe('denied');
    expect((await approvalEntries(incidentId)).map((e) => e.decision)).toEqual(['expired']);
    expect(await h.approvals.unsettled()).toEqual([]);
  });
});

it('shows the circuit breaker and lets an admin close it, audited with who and why', async () => {
  const breakerKey = h.t.keys.exec('breaker');
  await h.t.redis.hset(breakerKey, 'state', 'open', 'openedAt', Date.now(), 'reopenAt', Date.now() + 600_000);
  await h.t.redis.zadd(h.t.keys.exec('breaker:failures'), Date.now(), 'failed:x');
  const before = await (await fetch(`${ingest.url}/api/automation`, { headers: admin })).json();
  expect(before).toMatchObject({ paused: false, mode: 'live', breaker: { state: 'open' } });

  const missingReason = await fetch(`${ingest.url}/api/automation/breaker/reset`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ by: 'dana' }),
  });
  expect(missingReason.status).toBe(400);

  const reset = await fetch(`${ingest.url}/api/automation/breaker/reset`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ by: 'dana', reason: 'payments DB back after maintenance' }),
  });
  expect(reset.status).toBe(200);
  expect(await reset.json()).toMatchObject({ reset: true, breaker: { state: 'closed' } });
  expect(await h.t.redis.zcard(h.t.keys.exec('breaker:failures'))).toBe(0);
  const audited = await auditedIn(h.t);
  expect(audited).toContainEqual(
    expect.objectContaining({
      event: 'breaker_reset',
      by: 'dana+break-glass',
      reason: 'payments DB back after maintenance',
      was: 'open',
    }),
  );
  // Every state change runs again.
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
  const outcome = await h.submit({
    incidentId,
    tool: 'restart_service',
    args: { service: 'api', host: 'app-server-01', reason: 'x' },
  });
  expect(outcome.decision).toBe('executed');
});
