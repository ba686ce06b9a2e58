import { afterEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../../shared/audit-chain.js';
import { parseEnv } from '../../../shared/env.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { openIncident } from '../../../test/support/incidents.js';
import { eventually } from '../../../test/support/redis.js';
import { executorEnvSchema } from '../env.js';

let h: ExecutorHarness;
afterEach(async () => {
  await h.close();
});

const restart = { service: 'api', host: 'app-server-01', reason: 'crashed' };

describe('EXECUTION_MODE=dry-run', () => {
  it('takes the same decisions and accounting, and runs nothing', async () => {
    h = await startExecutorHarness({ mode: 'dry-run' });
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    const outcomes = [];
    for (let i = 0; i < 4; i++)
      outcomes.push(await h.submit({ incidentId, tool: 'restart_service', args: restart }));
    expect(outcomes.map((o) => o.decision)).toEqual(['dry_run', 'dry_run', 'dry_run', 'blocked']);
    expect(outcomes[0]?.result).toMatchObject({
      wouldRun: { argv: expect.arrayContaining(['restart', 'api']) },
    });
    expect(outcomes[3]?.reason).toBe('Service api restarted 3 times this hour (limit: 3)');
    expect((await h.submit({ incidentId, tool: 'drop_table', args: {} })).decision).toBe('blocked');
    expect(h.runs()).toEqual([]);
    const incident = await h.incidents.get(incidentId);
    expect(incident?.actions.filter((a) => a.decision === 'dry_run')).toHaveLength(3);
    expect((await verifyAuditChain(h.t.redis, h.t.keys)).ok).toBe(true);
  });
});

describe('dry-run accounting', () => {
  it('is its own: dry-run restarts do not use up the live limits, and live ones do not show in dry-run', async () => {
    h = await startExecutorHarness({ mode: 'dry-run' });
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    for (let i = 0; i < 3; i++)
      expect((await h.submit({ incidentId, tool: 'restart_service', args: restart })).decision).toBe(
        'dry_run',
      );
    const live = await startExecutorHarness({ mode: 'live', t: h.t });
    try {
      // The dry-run executor is closed, so the live one takes the next job.
      await h.executor.close();
      const outcome = await live.submit({ incidentId, tool: 'restart_service', args: restart });
      expect(outcome.decision).toBe('executed');
      expect(live.runs()).toEqual(['restart api']);
    } finally {
      await live.close();
    }
  });

  it('is the default when EXECUTION_MODE is not set', () => {
    expect(parseEnv(executorEnvSchema, {}).EXECUTION_MODE).toBe('dry-run');
  });
});

describe('approval expiry', () => {
  it('expires unanswered approvals, notes it on the timeline and notifies', async () => {
    h = await startExecutorHarness({ env: { APPROVAL_TTL_SECONDS: '1', APPROVAL_SWEEP_SECONDS: '1' } });
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
    const outcome = await h.submit({
      incidentId,
      tool: 'rollback_deployment',
      args: { service: 'api', reason: 'x' },
    });
    const approvalId = outcome.approvalId as string;
    await eventually(
      async () => (await h.approvals.get(approvalId))?.status === 'expired',
      'the approval to expire',
    );
    const entry = await eventually(
      async () =>
        (await h.incidents.get(incidentId))?.timeline.find(
          (e) => e.type === 'approval' && e.decision === 'expired',
        ),
      'the expiry on the timeline',
    );
    expect(entry).toMatchObject({ approvalId, by: 'executor' });
    const incident = await eventually(async () => {
      const current = await h.incidents.get(incidentId);
      return current?.status === 'escalated' ? current : null;
    }, 'the incident to escalate');
    expect(incident.actions.find((a) => a.id === outcome.actionId)).toMatchObject({
      decision: 'denied',
      reason: expect.stringMatching(/expired unanswered/),
    });
    const job = await eventually(
      async () =>
        (await h.t.redis.exists(`${h.t.keys.bullPrefix}:notifications-executor:decided-${approvalId}`)) === 1,
      'the approval_decided notification',
    );
    expect(job).toBe(true);
    // A late approval cannot be spent.
    expect((await h.approvals.decide(approvalId, 'approved', 'late')).ok).toBe(false);
  });
});

describe('global cap', () => {
  it('caps state-changing actions across all tools and services per rolling hour', async () => {
    h = await startExecutorHarness({ globalCap: 2 });
    const outcomes = [];
    for (const service of ['a', 'b', 'c']) {
      const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service });
      outcomes.push(await h.submit({ incidentId, tool: 'restart_service', args: { ...restart, service } }));
    }
    expect(outcomes.map((o) => o.decision)).toEqual(['executed', 'executed', 'blocked']);
    expect(outcomes[2]?.reason).toBe(
      'global cap reached: 2 state-changing actions in the last hour (limit: 2)',
    );
    expect(h.runs()).toEqual(['restart a', 'restart b']);
    const metrics = await h.executor.metrics.registry.getSingleMetricAsString('hermes_actions_total');
    expect(metrics).toContain(
      'hermes_actions_total{tool="restart_service",decision="executed",service="executor"} 2',
    );
    expect(metrics).toContain(
      'hermes_actions_total{tool="restart_service",decision="blocked",service="executor"} 1',
    );
  });
});
