import { afterEach, expect, it } from 'vitest';
import { OutcomeStore } from '../../../shared/outcomes.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { openIncident } from '../../../test/support/incidents.js';

let h: ExecutorHarness;

afterEach(async () => {
  await h.close();
});

const PREAPPROVED = `
preapproved:
  - { alertname: ServiceDown, tool: restart_service, resource: api, reason: "stateless" }
  - { alertname: BadDeploy, tool: rollback_deployment, resource: api }
`;

const start = () =>
  startExecutorHarness({ breakerThreshold: 100, restartsPerHour: 10, policyExtra: PREAPPROVED });

/** The agent's restart of `service` on a new level-2 `alertname` incident. */
async function restart(service: string, alertname = 'ServiceDown') {
  const incidentId = await openIncident(h.t, { alertname, service, level: 2 });
  const outcome = await h.submit({
    incidentId,
    tool: 'restart_service',
    args: { service, host: 'app-server-01', reason: 'down' },
  });
  return { incidentId, outcome };
}

it('runs a preapproved fix on a level-2 incident without asking, and says so; nothing else is waived', async () => {
  h = await start();
  const ran = await restart('api');
  expect(ran.outcome.decision).toBe('executed');
  expect(ran.outcome.reason).toMatch(
    /^preapproved in policy\.yaml \(ServiceDown, restart_service, api\), no approval asked; ran: /,
  );
  expect(await h.approvals.listPending()).toEqual([]);
  expect(h.runs()).toEqual(['restart api']);

  // Exactly that (alertname, tool, resource): another resource, or another alert, still asks.
  const worker = await restart('worker');
  expect(worker.outcome.decision).toBe('pending_approval');
  expect(worker.outcome.reason).toMatch(/^level-2 incidents need a human approval/);
  expect((await restart('api', 'HighLatency')).outcome.decision).toBe('pending_approval');

  // A confirm tool always asks, preapproved or not.
  const deploy = await openIncident(h.t, { alertname: 'BadDeploy', service: 'api', level: 2 });
  const rollback = await h.submit({
    incidentId: deploy,
    tool: 'rollback_deployment',
    args: { service: 'api', reason: 'bad deploy' },
  });
  expect(rollback.decision).toBe('pending_approval');
  expect(rollback.reason).toMatch(/^rollback_deployment always needs a human approval/);

  // The agent asking for a human is still asked.
  const asking = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api', level: 2 });
  const asked = await h.submit({
    incidentId: asking,
    tool: 'restart_service',
    args: { service: 'api', host: 'app-server-01', reason: 'down' },
    askHuman: true,
  });
  expect(asked.decision).toBe('pending_approval');
  expect(h.runs()).toEqual(['restart api']);
});

it('still applies the rate limit to a preapproved fix', async () => {
  h = await startExecutorHarness({ breakerThreshold: 100, restartsPerHour: 1, policyExtra: PREAPPROVED });
  expect((await restart('api')).outcome.decision).toBe('executed');
  const second = await restart('api');
  expect(second.outcome).toMatchObject({ decision: 'blocked' });
  expect(second.outcome.reason).toMatch(/restarted 1 times this hour/);
});

it('a learned rule for the pair wins over its preapproval: it asks a human, and says why', async () => {
  h = await start();
  for (let i = 0; i < 3; i++) {
    const { incidentId, outcome } = await restart('api');
    expect(outcome.decision).toBe('executed');
    await h.feedback({ incidentId, actionId: outcome.actionId, effective: false });
  }
  const fourth = await restart('api');
  expect(fourth.outcome.decision).toBe('pending_approval');
  expect(fourth.outcome.reason).toMatch(
    /^learned rule lrn_[0-9a-f]{16}: .*; it overrides preapproved in policy\.yaml \(ServiceDown, restart_service, api\), which history has since contradicted: /,
  );
  expect(h.runs()).toHaveLength(3);
});

it("an approved fix's outcome names its approver; the agent's own fixes name none", async () => {
  h = await start();
  const outcomes = new OutcomeStore(h.t.redis, h.t.keys);
  const asked = await restart('worker');
  const approvalId = asked.outcome.approvalId as string;
  expect((await h.approvals.decide(approvalId, 'approved', 'dana')).ok).toBe(true);
  const args = { service: 'worker', host: 'app-server-01', reason: 'down' };
  const run = await h.submit({
    actionId: `run-${approvalId}`,
    incidentId: asked.incidentId,
    tool: 'restart_service',
    args,
    approvalId,
    requestedBy: 'human:dana',
  });
  expect(run.decision).toBe('executed');
  await h.feedback({ incidentId: asked.incidentId, actionId: run.actionId, effective: true });
  const own = await restart('api');
  await h.feedback({ incidentId: own.incidentId, actionId: own.outcome.actionId, effective: true });

  const [approved, preapproved] = await outcomes.list({});
  expect(approved).toMatchObject({ resource: 'worker', verdict: 'fixed', approvedBy: 'dana' });
  expect(preapproved).toMatchObject({ resource: 'api', verdict: 'fixed' });
  expect(preapproved).not.toHaveProperty('approvedBy');
});
