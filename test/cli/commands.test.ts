import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { IngestHandle } from '../../services/ingest/service.js';
import { startTestIngest } from '../../services/ingest/test/harness.js';
import { createQueue, QUEUE } from '../../shared/queues.js';
import type { NotificationJob } from '../../shared/schemas/jobs.js';
import { type ExecutorHarness, startExecutorHarness } from '../support/executor-harness.js';
import { openIncident } from '../support/incidents.js';
import { writeUsersFile } from '../support/users.js';

const run = promisify(execFile);
/** dana's own token: the CLI sends it as HERMES_TOKEN, and it says who she is ($USER does not). */
const DANA = 'dana-cli-token-0123456789abcdef';
let h: ExecutorHarness;
let ingest: IngestHandle;

beforeAll(async () => {
  h = await startExecutorHarness();
  ingest = await startTestIngest(h.t, {
    ADMIN_TOKEN: 'cli-admin',
    USERS_FILE: writeUsersFile([{ name: 'dana', role: 'approver', token: DANA }]),
  });
});
afterAll(async () => {
  await ingest.close();
  await h.close();
});

const hermes = (...args: string[]) =>
  run('node', ['bin/hermes.js', '--url', ingest.url, ...args], {
    env: { ...process.env, ADMIN_TOKEN: '', HERMES_TOKEN: DANA, USER: 'root' },
  });

it('shows approvals as the operation and target in a line, and approving a question hands the incident to you', async () => {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
  const rollback = await h.submit({
    incidentId,
    tool: 'rollback_deployment',
    args: { service: 'api', reason: 'bad deploy' },
  });
  const question = await h.submit({
    incidentId,
    tool: 'request_human_confirmation',
    args: {
      action_description: 'Investigate ServiceDown on api',
      reason: 'no runbook fix',
      risk_level: 'low',
    },
  });
  const operation = (await h.approvals.get(rollback.approvalId as string))?.description?.split('\n')[0];
  expect(operation).toBeTruthy();
  // The notice humans get is titled with the same words.
  const notifications = createQueue<NotificationJob>(
    QUEUE.notifications.executor,
    h.t.redis,
    h.t.keys.bullPrefix,
  );
  try {
    const titles = (await notifications.getJobs(['waiting', 'prioritized', 'completed', 'active']))
      .filter((job) => job.data.event === 'approval_requested')
      .map((job) => job.data.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        `Approval needed: ${operation}`,
        'Approval needed: Investigate ServiceDown on api',
      ]),
    );
  } finally {
    await notifications.close();
  }

  const listed = (await hermes('approvals')).stdout;
  expect(listed).toMatch(/^ID\s+INCIDENT\s+RISK\s+EXPIRES\s+WHAT$/m);
  expect(listed).toContain(`high  30m      ${operation?.slice(0, 120)}`);
  expect(listed).toContain('question: Investigate ServiceDown on api (approving = you take the incident)');
  expect(listed).not.toContain('{"');

  const short = (question.approvalId as string).slice(0, 20);
  // Named by the token, not by $USER.
  expect((await hermes('approve', short)).stdout.trim()).toBe(
    `${question.approvalId} approved by dana: you own incident ${incidentId} now`,
  );
  await expect
    .poll(async () => (await h.incidents.getSummary(incidentId))?.acknowledgedBy, { timeout: 10_000 })
    .toBe('dana');
  expect((await hermes('incident', incidentId)).stdout).toMatch(/^owner: dana \(acknowledged /m);
});

it('acknowledges, re-runs and resolves an incident by a prefix of its id', async () => {
  const incidentId = await openIncident(h.t, { alertname: 'HighLatency', service: 'web' });
  await h.incidents.setStatus(incidentId, 'escalated', 'triage');
  const prefix = incidentId.slice(0, -3);

  expect((await hermes('ack', prefix, '--comment', 'looking')).stdout.trim()).toBe(
    `${incidentId} acknowledged by dana: now escalated`,
  );
  expect((await hermes('incidents')).stdout).toMatch(/escalated \(ack dana\)\s+HighLatency\s+web/);
  expect((await hermes('rerun', prefix)).stdout.trim()).toBe(
    `${incidentId} sent back to triage by dana: now open`,
  );
  // A token names one person: speaking for another is refused.
  await expect(hermes('resolve', prefix, '--by', 'erin')).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/403 by "erin" is not the name of your credential \(dana\)/),
  });
  expect((await hermes('resolve', prefix)).stdout.trim()).toBe(
    `${incidentId} resolved by dana: now resolved`,
  );
  await expect(hermes('resolve', prefix)).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/409 incident .* cannot be resolved: it is closed/),
  });
  const timeline = (await hermes('incident', prefix)).stdout;
  expect(timeline).toMatch(
    /status +human:dana +now escalated: dana acknowledged: a human owns this incident now: looking$/m,
  );
  expect(timeline).toMatch(/status +human:dana +now resolved: resolved by dana$/m);
});

it('prints the state a restart found before it under the action, as text: the evidence, then the last ERROR lines', async () => {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'crashy' });
  await h.incidents.recordAction(incidentId, {
    id: 'act-before-1',
    tool: 'restart_service',
    args: { service: 'crashy' },
    requestedBy: 'agent',
    decision: 'executed',
    reason: 'ran: restart container crashy via docker (target docker-host-1)',
    result: { container: 'crashy', state: { restartCount: 0, running: true } },
    before: {
      at: '2026-12-07T09:00:00.000Z',
      status: 'restarting',
      restartCount: 10,
      exitCode: 3,
      oomKilled: false,
      errorLines: ['ERROR crashy pool: timeout', 'ERROR crashy cannot reach db:5432'],
    },
    at: '2026-12-07T09:00:01.000Z',
  });
  const shown = (await hermes('incident', incidentId)).stdout;
  expect(shown).toContain(
    [
      '09:00:01  restart_service service=crashy → executed: ran: restart container crashy via docker (target docker-host-1)',
      '          before: restarting, exit 3, 10 restarts; last error: "ERROR crashy cannot reach db:5432"',
      '            ERROR crashy pool: timeout',
      '            ERROR crashy cannot reach db:5432',
    ].join('\n'),
  );
});

it("prints a tool's output under its timeline entry as indented text, not a clipped line of JSON", async () => {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'crashy' });
  await h.incidents.appendTimeline(incidentId, {
    type: 'tool_call',
    by: 'triage',
    tool: 'check_system_resources',
    args: { host: 'docker-host-1' },
    ok: true,
    output: {
      container: 'crashy',
      state: { status: 'restarting', restartCount: 10, exitCode: 3, error: null, note: 'x'.repeat(400) },
      lines: ['ERROR crashy cannot reach db:5432'],
    },
  });
  const shown = (await hermes('incident', incidentId)).stdout;
  expect(shown).toMatch(
    /check_system_resources host=docker-host-1 → ok\n {12}container: crashy\n {12}state:\n {14}status: restarting\n {14}restartCount: 10\n {14}exitCode: 3\n {14}error: null\n {14}note: x+…\n {12}lines:\n {14}- ERROR crashy cannot reach db:5432\n/,
  );
  expect(shown).not.toContain('{"container"');
});
