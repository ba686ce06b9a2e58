import { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../../shared/audit-chain.js';
import { AutomationControl } from '../../../shared/control.js';
import { QUEUE } from '../../../shared/queues.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { openIncident } from '../../../test/support/incidents.js';
import { eventually } from '../../../test/support/redis.js';

let h: ExecutorHarness;

beforeEach(async () => {
  h = await startExecutorHarness();
});
afterEach(async () => {
  await h.close();
});

const restart = (service = 'api') => ({ service, host: 'app-server-01', reason: 'crashed' });

async function jobsIn(queue: string): Promise<{ name: string; data: Record<string, unknown> }[]> {
  const q = new Queue(queue, { connection: h.t.redis, prefix: h.t.keys.bullPrefix });
  const jobs = await q.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed']);
  await q.close();
  return jobs.map((job) => ({ name: job.name, data: job.data }));
}

describe('seed rules', () => {
  it('allows restart_service 3 times per service per hour, then blocks with the seed reason', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    const decisions = [];
    for (let i = 0; i < 4; i++)
      decisions.push(await h.submit({ incidentId, tool: 'restart_service', args: restart('api') }));
    expect(decisions.map((d) => d.decision)).toEqual(['executed', 'executed', 'executed', 'blocked']);
    expect(decisions[3]?.reason).toBe('Service api restarted 3 times this hour (limit: 3)');
    expect(h.runs()).toEqual(['restart api', 'restart api', 'restart api']);
    // The limit is per service: another service (its own incident) still restarts.
    const worker = await openIncident(h.t, { alertname: 'ServiceDown', service: 'worker' });
    const other = await h.submit({ incidentId: worker, tool: 'restart_service', args: restart('worker') });
    expect(other.decision).toBe('executed');

    const incident = await h.incidents.get(incidentId);
    expect(incident?.actions.map((a) => a.decision).sort()).toEqual(
      ['blocked', 'executed', 'executed', 'executed'].sort(),
    );
    const timeline = incident?.timeline.filter((e) => e.type === 'action') ?? [];
    expect(timeline).toHaveLength(4);
    expect(timeline[3]).toMatchObject({ by: 'executor', tool: 'restart_service', decision: 'blocked' });
    const audit = await verifyAuditChain(h.t.redis, h.t.keys);
    expect(audit).toEqual({ ok: true, entries: 5, trimmed: false, lastSeq: 5 });
  });

  it('refuses disk cleaning of protected paths and min_age_days < 7', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'DiskSpaceLow' });
    for (const path of ['/', '/etc', '/usr/lib', '/bin/ls']) {
      const outcome = await h.submit({
        incidentId,
        tool: 'clean_disk_space',
        args: { host: 'app-server-01', paths: [path], min_age_days: 30 },
      });
      expect(outcome.decision).toBe('blocked');
      expect(outcome.reason).toBe(
        `Path ${path} is protected (the executor's own machine (local target test-machine))`,
      );
    }
    const young = await h.submit({
      incidentId,
      tool: 'clean_disk_space',
      args: { host: 'app-server-01', paths: [h.diskRoot], min_age_days: 3 },
    });
    expect(young.decision).toBe('blocked');
    expect(young.reason).toContain('min_age_days must be >= 7');
  });

  it('refuses unknown tools and forbidden tools, whoever asks', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    const unknown = await h.submit({ incidentId, tool: 'format_disk', args: {} });
    expect(unknown).toMatchObject({
      decision: 'blocked',
      reason: 'Unknown tool format_disk requires explicit allowlist',
    });
    const forbidden = await h.submit({
      incidentId,
      tool: 'drop_table',
      args: {},
      requestedBy: 'human:alice',
    });
    expect(forbidden).toMatchObject({ decision: 'blocked', reason: 'drop_table is absolutely forbidden' });
    expect(await h.approvals.listPending()).toEqual([]);
  });
});

describe('levels come from the incident record', () => {
  it('refuses every state change on a level-3 incident even when the job claims level 1', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'DatabaseFailover' });
    expect(await h.incidents.getLevel(incidentId)).toBe(3);
    for (const [tool, args] of [
      ['restart_service', restart()],
      ['scale_service', { service: 'api', delta: 1 }],
      ['rollback_deployment', { service: 'api', reason: 'bad deploy' }],
    ] as const) {
      const outcome = await h.submit({ incidentId, tool, args, level: 1, tier: 'read' });
      expect(outcome.decision).toBe('blocked');
      expect(outcome.reason).toContain('level 3');
    }
    expect(h.runs()).toEqual([]);
    expect(await h.approvals.listPending()).toEqual([]);
  });

  it('turns a safe tool on a level-2 incident into an approval request', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'HighLatency', service: 'api' });
    const outcome = await h.submit({ incidentId, tool: 'restart_service', args: restart() });
    expect(outcome.decision).toBe('pending_approval');
    expect(outcome.approvalId).toMatch(/^apr_/);
    expect(h.runs()).toEqual([]);
    expect(await h.incidents.getStatus(incidentId)).toBe('awaiting_approval');
  });

  it('runs a level-2 safe action once a human approves it, still within the limits', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'HighLatency', service: 'api' });
    const args = restart();
    const asked = await h.submit({ incidentId, tool: 'restart_service', args });
    const approvalId = asked.approvalId as string;
    await h.approvals.decide(approvalId, 'approved', 'dana');
    const run = await h.submit({
      actionId: `run-${approvalId}`,
      incidentId,
      tool: 'restart_service',
      args,
      approvalId,
      requestedBy: 'human:dana',
    });
    expect(run.decision).toBe('executed');
    expect(h.runs()).toEqual(['restart api']);
  });

  it('blocks actions for an incident that does not exist', async () => {
    const outcome = await h.submit({ incidentId: 'inc_nope', tool: 'restart_service', args: restart() });
    expect(outcome).toMatchObject({ decision: 'blocked', reason: 'unknown incident inc_nope' });
    expect(h.runs()).toEqual([]);
  });
});

describe('approvals', () => {
  it('refuses a confirm tool without approval, then runs it once with a human approval', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    const args = { service: 'api', reason: 'bad deploy' };
    const first = await h.submit({
      incidentId,
      tool: 'rollback_deployment',
      args,
      approvalRequest: { reason: 'deploy 42 broke checkout', risk: 'medium' },
    });
    expect(first.decision).toBe('pending_approval');
    const approvalId = first.approvalId as string;
    const approval = await h.approvals.get(approvalId);
    expect(approval).toMatchObject({
      tool: 'rollback_deployment',
      reason: 'deploy 42 broke checkout',
      status: 'pending',
    });
    expect(h.runs()).toEqual([]);
    const notifications = await jobsIn(QUEUE.notifications.executor);
    expect(notifications.find((n) => n.name === 'approval_requested')?.data).toMatchObject({ approvalId });

    // The agent cannot spend the approval itself, even with the id.
    const agentTry = await h.submit({ incidentId, tool: 'rollback_deployment', args, approvalId });
    expect(agentTry.decision).toBe('blocked');
    // Not approved yet.
    const early = await h.submit({
      incidentId,
      tool: 'rollback_deployment',
      args,
      approvalId,
      requestedBy: 'human:alice',
    });
    expect(early).toMatchObject({
      decision: 'blocked',
      reason: `approval ${approvalId}: not_approved:pending`,
    });

    expect((await h.approvals.decide(approvalId, 'approved', 'alice')).ok).toBe(true);
    // Different args than approved: refused.
    const mismatch = await h.submit({
      incidentId,
      tool: 'rollback_deployment',
      args: { service: 'api', reason: 'a different reason' },
      approvalId,
      requestedBy: 'human:alice',
    });
    expect(mismatch.reason).toContain('action_mismatch');
    const run = await h.submit({
      actionId: `run-${approvalId}`,
      incidentId,
      tool: 'rollback_deployment',
      args,
      approvalId,
      requestedBy: 'human:alice',
    });
    expect(run.decision).toBe('executed');
    expect(h.runs()).toEqual(['rollback api']);
    const again = await h.submit({
      incidentId,
      tool: 'rollback_deployment',
      args,
      approvalId,
      requestedBy: 'human:alice',
    });
    expect(again).toMatchObject({ decision: 'blocked', reason: `approval ${approvalId}: already_used` });
    expect(h.runs()).toEqual(['rollback api']);

    const triage = await jobsIn(QUEUE.triage);
    expect(triage.map((j) => j.data)).toContainEqual({
      incidentId,
      trigger: 'approval_executed',
      actionId: `run-${approvalId}`,
    });
  });

  it('records a denied approval as denied and runs nothing', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    const args = { service: 'api', reason: 'bad deploy' };
    const first = await h.submit({ incidentId, tool: 'rollback_deployment', args });
    const approvalId = first.approvalId as string;
    await h.approvals.decide(approvalId, 'denied', 'bob');
    const outcome = await h.submit({
      incidentId,
      tool: 'rollback_deployment',
      args,
      approvalId,
      requestedBy: 'human:bob',
    });
    expect(outcome).toMatchObject({ decision: 'denied', reason: 'denied by bob' });
    expect(h.runs()).toEqual([]);
  });

  it('turns request_human_confirmation into an advisory approval that runs nothing when approved', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    const args = {
      action_description: 'Fail over the primary DB?',
      reason: 'replica lag',
      risk_level: 'high',
    };
    const first = await h.submit({ incidentId, tool: 'request_human_confirmation', args });
    expect(first.decision).toBe('pending_approval');
    const approvalId = first.approvalId as string;
    expect(await h.approvals.get(approvalId)).toMatchObject({
      risk: 'high',
      description: 'Fail over the primary DB?',
    });
    await h.approvals.decide(approvalId, 'approved', 'carol');
    const answer = await h.submit({
      incidentId,
      tool: 'request_human_confirmation',
      args,
      approvalId,
      requestedBy: 'human:carol',
    });
    expect(answer.decision).toBe('executed');
    expect(h.runs()).toEqual([]);
  });
});

describe('validation', () => {
  it('rejects malformed job payloads with a reason and no side effect', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    const before = await h.incidents.get(incidentId);
    const cases: Record<string, unknown>[] = [
      { incidentId, tool: 'restart_service', args: 'restart everything' },
      { incidentId, tool: 'restart_service', args: restart(), requestedBy: 'root' },
      { incidentId: '../../etc', tool: 'restart_service', args: restart() },
      { incidentId, tool: '', args: restart() },
    ];
    for (const job of cases) {
      const outcome = await h.submit(job);
      expect(outcome.decision).toBe('blocked');
      expect(outcome.reason).toMatch(/^invalid action job: /);
    }
    const after = await h.incidents.get(incidentId);
    expect(after?.actions).toEqual(before?.actions);
    expect(after?.timeline.length).toBe(before?.timeline.length);
    expect(h.runs()).toEqual([]);
    // Only what the executor published at start-up (mode, config versions): no claim, limit or breaker state.
    expect((await h.t.redis.keys(h.t.keys.exec('*'))).sort()).toEqual([
      h.t.keys.exec('config'),
      h.t.keys.exec('mode'),
    ]);
  });

  it('rejects bad tool arguments with the zod reason and runs nothing', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    const injection = await h.submit({
      incidentId,
      tool: 'restart_service',
      args: { service: 'api; rm -rf /', host: 'h', reason: 'x' },
    });
    expect(injection.decision).toBe('blocked');
    expect(injection.reason).toContain('service must match');
    const option = await h.submit({
      incidentId,
      tool: 'restart_service',
      args: { service: '--now', host: 'h', reason: 'x' },
    });
    expect(option.decision).toBe('blocked');
    const missing = await h.submit({ incidentId, tool: 'restart_service', args: { service: 'api' } });
    expect(missing.reason).toContain('host is required');
    expect(h.runs()).toEqual([]);
  });
});

describe('asking a human first', () => {
  it('always becomes an approval, even for a safe tool on a level-1 incident, with the policy risk', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    const outcome = await h.submit({
      incidentId,
      tool: 'restart_service',
      args: restart(),
      askHuman: true,
      approvalRequest: { description: 'just a tiny harmless restart', reason: 'crashed', risk: 'low' },
    });
    expect(outcome.decision).toBe('pending_approval');
    expect(outcome.reason).toMatch(
      /^the agent asked for a human approval to run `.* restart api` on the executor's own machine/,
    );
    expect(h.runs()).toEqual([]);
    const approval = await h.approvals.get(outcome.approvalId as string);
    expect(approval).toMatchObject({ risk: 'medium' });
    expect(approval?.description).toMatch(
      /^run `.* restart api` on the executor's own machine .*\nRequested as: just a tiny harmless restart$/,
    );
  });
});

describe('deadlines', () => {
  it('refuses an action whose requester already stopped waiting, and runs nothing', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    const deadline = new Date(Date.now() - 1_000).toISOString();
    const outcome = await h.submit({ incidentId, tool: 'restart_service', args: restart(), deadline });
    expect(outcome).toMatchObject({
      decision: 'blocked',
      reason: `stale: agent stopped waiting at ${deadline}; not run`,
    });
    expect(h.runs()).toEqual([]);
  });

  it('reports an action that was still running when its deadline passed', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'DBConnectionPoolExhausted', service: 'db' });
    // restart_db_pool runs the `slow` fixture: about a second, longer than this deadline.
    const deadline = new Date(Date.now() + 400).toISOString();
    const outcome = await h.submit({
      incidentId,
      tool: 'restart_db_pool',
      args: { service: 'db', reason: 'pool' },
      deadline,
    });
    expect(outcome.decision).toBe('executed');
    expect(h.runs()).toEqual(['slow db']);
    const notices = (await jobsIn(QUEUE.notifications.executor)).filter(
      (n) => n.data.eventId === `late-${outcome.actionId}`,
    );
    expect(notices).toHaveLength(1);
    expect(notices[0]?.data).toMatchObject({ event: 'action', severity: 'warning', incidentId });
    expect(String(notices[0]?.data.text)).toContain('it ended executed');
  });
});

describe('idempotency', () => {
  it('runs an action once when two executors race on the same action id', async () => {
    await h.startAnother();
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    const job = { actionId: 'act-race', incidentId, tool: 'restart_service', args: restart() };
    // Duplicate deliveries of one action under different job ids (bypassing the queue's jobId dedup),
    // picked up concurrently by two executors.
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, (_, i) => h.submit({ ...job }, { jobId: `race-${i}` })),
    );
    expect(outcomes.every((o) => o.actionId === 'act-race')).toBe(true);
    expect(outcomes.filter((o) => o.decision === 'executed').length).toBeGreaterThanOrEqual(1);
    expect(outcomes.every((o) => o.decision === 'executed' || o.decision === 'unknown_outcome')).toBe(true);
    expect(h.runs()).toEqual(['restart api']);
    // The incident's record ends with the real outcome, whatever order the duplicates finished in.
    await eventually(
      async () => (await h.incidents.getAction(incidentId, 'act-race'))?.decision === 'executed',
      'the action record to show the executed run',
    );
    const redelivered = await h.submit({ ...job }, { jobId: 'race-later' });
    expect(redelivered.decision).toBe('executed');
    expect(h.runs()).toEqual(['restart api']);
  });

  it('finishes and records an in-flight action when closed', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'DBConnectionPoolExhausted', service: 'db' });
    const pending = h.submit({
      actionId: 'act-slow',
      incidentId,
      tool: 'restart_db_pool',
      args: { service: 'db', reason: 'pool' },
    });
    await eventually(
      async () => (await h.t.redis.exists(h.t.keys.exec('claim:act-slow'))) === 1,
      'the action to start',
    );
    await h.executor.close();
    expect(h.runs()).toEqual(['slow db']);
    expect((await h.incidents.getAction(incidentId, 'act-slow'))?.decision).toBe('executed');
    expect((await pending).decision).toBe('executed');
  });

  it('reports an action whose earlier attempt died mid-run as unknown_outcome and does not rerun it', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    // What a crash leaves: the claim taken, no outcome.
    await h.t.redis.set(
      h.t.keys.exec('claim:act-crashed'),
      JSON.stringify({ state: 'running', at: '2026-01-01T00:00:00Z' }),
    );
    const outcome = await h.submit({
      actionId: 'act-crashed',
      incidentId,
      tool: 'restart_service',
      args: restart(),
    });
    expect(outcome.decision).toBe('unknown_outcome');
    expect(h.runs()).toEqual([]);
    expect((await h.incidents.getAction(incidentId, 'act-crashed'))?.decision).toBe('unknown_outcome');
  });
});

describe('circuit breaker and kill switch', () => {
  it('opens after repeated failures, pages once, and blocks every state change', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'QueueBacklog', service: 'orders' });
    const fail = () =>
      h.submit({ incidentId, tool: 'restart_consumers', args: { service: 'orders', reason: 'lag' } });
    const first = await fail();
    expect(first.decision).toBe('failed');
    // The cause, from the command's stderr, is in the reason every message is built from.
    expect(first.reason).toBe('node exited with 1: consumers orders: failed as asked (exit 1)');
    expect((await fail()).decision).toBe('failed');
    const third = await fail();
    expect(third.decision).toBe('blocked');
    expect(third.reason).toContain('circuit breaker open');
    const api = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    const blocked = await h.submit({ incidentId: api, tool: 'restart_service', args: restart() });
    expect(blocked.reason).toContain('circuit breaker open');
    expect(h.runs()).toEqual(['consumers orders', 'consumers orders']);
    const pages = (await jobsIn(QUEUE.notifications.executor)).filter((n) => n.name === 'breaker_open');
    expect(pages).toHaveLength(1);
    expect(pages[0]?.data).toMatchObject({ severity: 'critical', incidentId });
  });

  it('counts ineffective fixes reported by triage toward the breaker, only for executed actions', async () => {
    const incidents: Record<string, string> = {};
    for (const service of ['a', 'b', 'c', 'd'])
      incidents[service] = await openIncident(h.t, { alertname: 'ServiceDown', service });
    const restartOn = (service: string) =>
      h.submit({ incidentId: incidents[service], tool: 'restart_service', args: restart(service) });
    const a = await restartOn('a');
    const b = await restartOn('b');
    const refused = await h.submit({ incidentId: incidents.a, tool: 'drop_table', args: {} });
    for (const actionId of ['act-never-ran', refused.actionId])
      expect(await h.feedback({ incidentId: incidents.a, actionId, effective: false })).toMatchObject({
        counted: false,
      });
    expect(await h.feedback({ incidentId: 'x', effective: 'no' })).toMatchObject({ counted: false });
    expect((await restartOn('c')).decision).toBe('executed');

    for (const [service, action] of [
      ['a', a],
      ['b', b],
    ] as const)
      expect(
        await h.feedback({
          incidentId: incidents[service],
          actionId: action.actionId,
          effective: false,
          detail: 'still down',
        }),
      ).toEqual({
        counted: true,
      });
    const next = await restartOn('d');
    expect(next.reason).toContain('circuit breaker open');
    expect(h.runs()).toEqual(['restart a', 'restart b', 'restart c']);

    // The same verdict again (its job retried): audited once.
    await h.feedback({
      incidentId: incidents.a,
      actionId: a.actionId,
      effective: false,
      detail: 'still down',
    });
    const entries = (await h.t.redis.xrange(h.t.keys.audit, '-', '+')).map(
      ([, fields]) => JSON.parse(fields[fields.indexOf('data') + 1] ?? '{}') as Record<string, unknown>,
    );
    expect(
      entries.filter((entry) => entry.event === 'feedback' && entry.actionId === a.actionId),
    ).toHaveLength(1);
  });

  it('refuses every state change while automation is paused', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    await new AutomationControl(h.t.redis, h.t.keys).pause('oncall');
    const outcome = await h.submit({ incidentId, tool: 'restart_service', args: restart() });
    expect(outcome.decision).toBe('blocked');
    expect(outcome.reason).toContain('paused');
    expect(h.runs()).toEqual([]);
    const read = await h.submit({ incidentId, tool: 'get_service_logs', args: { service: 'api' } });
    expect(read.decision).toBe('executed');
  });
});

describe('scale_service', () => {
  it('allows at most +2 above the baseline', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    expect(
      (await h.submit({ incidentId, tool: 'scale_service', args: { service: 'api', replicas: 5 } })).reason,
    ).toBe('5 replicas of api is more than +2 above its baseline of 2');
    expect(
      (await h.submit({ incidentId, tool: 'scale_service', args: { service: 'api', delta: 2 } })).decision,
    ).toBe('executed');
    const more = await h.submit({ incidentId, tool: 'scale_service', args: { service: 'api', delta: 1 } });
    expect(more).toMatchObject({
      decision: 'blocked',
      reason: '5 replicas of api is more than +2 above its baseline of 2',
    });
    expect(h.runs()).toEqual(['scale api --replicas=4']);
  });

  it('applies concurrent deltas for one service one after the other', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'web' });
    const outcomes = await Promise.all(
      [1, 1, 1].map((delta, n) =>
        h.submit({
          incidentId,
          actionId: `scale-up-${n}`,
          tool: 'scale_service',
          args: { service: 'web', delta },
        }),
      ),
    );
    // Baseline 2, ceiling 4: two of the three +1s run (3, then 4), the third would make 5.
    expect(outcomes.map((o) => o.decision).sort()).toEqual(['blocked', 'executed', 'executed']);
    expect(h.runs().sort()).toEqual(['scale web --replicas=3', 'scale web --replicas=4']);
  });
});
