import { Queue } from 'bullmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { verifyAuditChain } from '../../../shared/audit-chain.js';
import { LearnedRules } from '../../../shared/learned-rules.js';
import { OutcomeStore, summarize } from '../../../shared/outcomes.js';
import { QUEUE } from '../../../shared/queues.js';
import { audited } from '../../../test/support/audit.js';
import {
  type ExecutorHarness,
  startExecutorHarness,
  testPolicy,
} from '../../../test/support/executor-harness.js';
import { openIncident } from '../../../test/support/incidents.js';
import { AuditLog } from '../audit.js';
import { Judgement } from '../judgement.js';
import { parsePolicy } from '../policy.js';

let h: ExecutorHarness;

afterEach(async () => {
  await h.close();
});

const restart = (service: string) => ({ service, host: 'app-server-01', reason: 'crashed' });

/** A new ServiceDown incident on `service` and the agent's restart of it. */
async function restartIncident(service: string, level?: 1 | 2) {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service, level });
  const outcome = await h.submit({ incidentId, tool: 'restart_service', args: restart(service) });
  return { incidentId, outcome };
}

const auditEvents = () => audited(h.t);

describe('outcomes', () => {
  it('keeps every verdict per (alertname, resource, target, tool), with totals and time to recover', async () => {
    h = await startExecutorHarness({ breakerThreshold: 100 });
    const outcomes = new OutcomeStore(h.t.redis, h.t.keys);
    const fixed = await restartIncident('api');
    await h.feedback({ incidentId: fixed.incidentId, actionId: fixed.outcome.actionId, effective: true });
    const ineffective = await restartIncident('worker');
    await h.feedback({
      incidentId: ineffective.incidentId,
      actionId: ineffective.outcome.actionId,
      effective: false,
    });
    // restart_consumers' command exits 1: a failed fix.
    const consumers = await openIncident(h.t, { alertname: 'QueueStuck', service: 'orders', level: 1 });
    const failed = await h.submit({
      incidentId: consumers,
      tool: 'restart_consumers',
      args: { service: 'orders', reason: 'stuck' },
    });
    expect(failed.decision).toBe('failed');

    const all = await outcomes.list({});
    expect(
      all.map(({ alertname, resource, target, tool, verdict }) => [
        alertname,
        resource,
        target,
        tool,
        verdict,
      ]),
    ).toEqual([
      ['ServiceDown', 'api', 'test-machine', 'restart_service', 'fixed'],
      ['ServiceDown', 'worker', 'test-machine', 'restart_service', 'ineffective'],
      ['QueueStuck', 'orders', 'test-machine', 'restart_consumers', 'failed'],
    ]);
    expect(all[0]).toMatchObject({ incidentId: fixed.incidentId, actionId: fixed.outcome.actionId });
    expect(all[0]?.seconds).toBeGreaterThanOrEqual(0);
    const api = await outcomes.list({ resource: 'api', tool: 'restart_service' });
    expect(api.map((outcome) => outcome.incidentId)).toEqual([fixed.incidentId]);
    expect(summarize(all)).toMatchObject({
      total: 3,
      totals: { fixed: 1, ineffective: 1, failed: 1, unknown: 0, none: 0 },
      medianSecondsToRecover: api[0]?.seconds,
    });
    // A verdict repeated (a retried feedback job) is kept once.
    await h.feedback({ incidentId: fixed.incidentId, actionId: fixed.outcome.actionId, effective: true });
    expect(await outcomes.list({})).toHaveLength(3);
  });

  it('keeps refusals as `none`, and dry-run verdicts never count', async () => {
    h = await startExecutorHarness({ mode: 'dry-run', breakerThreshold: 100, restartsPerHour: 10 });
    const outcomes = new OutcomeStore(h.t.redis, h.t.keys);
    for (let i = 0; i < 4; i++) {
      const { incidentId, outcome } = await restartIncident('api');
      expect(outcome.decision).toBe('dry_run');
      expect(await h.feedback({ incidentId, actionId: outcome.actionId, effective: false })).toMatchObject({
        counted: false,
      });
    }
    expect((await outcomes.list({})).map((outcome) => outcome.verdict)).toEqual([
      'none',
      'none',
      'none',
      'none',
    ]);
    expect(await new LearnedRules(h.t.redis, h.t.keys).list()).toEqual([]);
  });

  it('keeps a verdict whose recording failed (a Redis error) when its job runs again, and keeps it once', async () => {
    h = await startExecutorHarness({ breakerThreshold: 100 });
    const outcomes = new OutcomeStore(h.t.redis, h.t.keys);
    const { incidentId, outcome } = await restartIncident('api');
    const feedback = { incidentId, actionId: outcome.actionId, effective: false };
    const failing = vi
      .spyOn(OutcomeStore.prototype, 'record')
      .mockRejectedValueOnce(new Error('connection lost'));
    await h.feedback(feedback).catch(() => undefined);
    failing.mockRestore();
    // Its job again (a retry), then once more (heard twice).
    await h.feedback(feedback);
    await h.feedback(feedback);
    const kept = (await outcomes.list({})).filter((entry) => entry.actionId === outcome.actionId);
    expect(kept.map((entry) => entry.verdict)).toEqual(['ineffective']);
  });

  it('bounds each key by count', async () => {
    h = await startExecutorHarness({ breakerThreshold: 100 });
    const outcomes = new OutcomeStore(h.t.redis, h.t.keys, 90, 2);
    const subject = {
      alertname: 'ServiceDown',
      resource: 'api',
      target: 'test-machine',
      tool: 'restart_service',
    };
    for (let i = 0; i < 4; i++)
      await outcomes.record({
        ...subject,
        incidentId: `inc_${i}`,
        actionId: `act_${i}`,
        verdict: 'fixed',
        alertAt: new Date(Date.now() - 60_000).toISOString(),
        at: new Date(Date.now() + i).toISOString(),
        seconds: 60,
      });
    expect((await outcomes.of(subject)).map((outcome) => outcome.incidentId)).toEqual(['inc_2', 'inc_3']);
  });
});

describe('recurrence', () => {
  it('does not repeat a fix that worked twice within the hour on the same place; the incident names the earlier ones', async () => {
    h = await startExecutorHarness({ breakerThreshold: 100 });
    const earlier: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { incidentId, outcome } = await restartIncident('api');
      expect(outcome.decision).toBe('executed');
      await h.feedback({ incidentId, actionId: outcome.actionId, effective: true });
      earlier.push(incidentId);
    }
    const third = await restartIncident('api');
    expect(third.outcome.decision).toBe('blocked');
    expect(third.outcome.reason).toMatch(
      /^restart_service of api on test-machine did not hold: 3rd time in \d+ min \(earlier: /,
    );
    for (const id of earlier) expect(third.outcome.reason).toContain(id);
    expect(h.runs()).toEqual(['restart api', 'restart api']);
    // Another resource on the same target is its own history.
    expect((await restartIncident('worker')).outcome.decision).toBe('executed');
    const incident = await h.incidents.get(third.incidentId);
    expect(incident?.actions[0]).toMatchObject({ decision: 'blocked', reason: third.outcome.reason });
  });
});

describe('learned rules', () => {
  it('three ineffective verdicts make a rule: the fourth restart asks a human on a level-1 incident until one clears it', async () => {
    h = await startExecutorHarness({ breakerThreshold: 100, restartsPerHour: 10 });
    const learned = new LearnedRules(h.t.redis, h.t.keys);
    const evidence: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { incidentId, outcome } = await restartIncident('api', 1);
      expect(outcome.decision).toBe('executed');
      await h.feedback({ incidentId, actionId: outcome.actionId, effective: false, detail: 'still down' });
      evidence.push(incidentId);
    }
    const fourth = await restartIncident('api', 1);
    expect(fourth.outcome.decision).toBe('pending_approval');
    expect(fourth.outcome.reason).toMatch(
      /^learned rule lrn_[0-9a-f]{16}: restart_service was ineffective for ServiceDown on api 3 times/,
    );
    expect(h.runs()).toHaveLength(3);

    const [rule, ...others] = await learned.list();
    expect(others).toEqual([]);
    expect(rule).toMatchObject({ alertname: 'ServiceDown', tool: 'restart_service', resource: 'api' });
    expect(rule?.evidence.map((entry) => entry.incidentId)).toEqual(evidence);
    expect(Date.parse(rule?.expiresAt ?? '') - Date.parse(rule?.madeAt ?? '')).toBe(86_400_000);
    expect((await auditEvents()).filter((entry) => entry.event === 'learned_rule_made')).toMatchObject([
      { ruleId: rule?.id, evidence },
    ]);

    const actions = new Queue(QUEUE.actions, { connection: h.t.redis, prefix: h.t.keys.bullPrefix });
    const job = await actions.add('learned_clear', {
      ruleId: rule?.id,
      by: 'alice',
      reason: 'fixed the config',
    });
    await expect
      .poll(async () => (await job.isCompleted()) || (await actions.getJob(job.id ?? ''))?.returnvalue)
      .toBeTruthy();
    await actions.close();
    expect(await learned.list()).toEqual([]);
    expect((await auditEvents()).filter((entry) => entry.event === 'learned_rule_cleared')).toMatchObject([
      { ruleId: rule?.id, by: 'alice', reason: 'fixed the config' },
    ]);
    const fifth = await restartIncident('api', 1);
    expect(fifth.outcome.decision).toBe('executed');
  });

  it('a rule whose maker died before auditing it is audited by the sweep, once', async () => {
    h = await startExecutorHarness();
    const learned = new LearnedRules(h.t.redis, h.t.keys);
    const settings = { ineffectiveToConfirm: 1, windowSeconds: 60, cooldownSeconds: 60 };
    // What the executor's script leaves when the process dies right after it, before the audit.
    const rule = await learned.noteIneffective(
      { alertname: 'ServiceDown', tool: 'restart_service', resource: 'api' },
      {
        incidentId: 'inc_dead',
        actionId: 'act_dead',
        target: 'test-machine',
        verdict: 'ineffective',
        at: new Date().toISOString(),
      },
      settings,
    );
    expect(rule).not.toBeNull();
    const made = async () => (await auditEvents()).filter((entry) => entry.event === 'learned_rule_made');
    expect(await made()).toEqual([]);
    const judgement = new Judgement({
      outcomes: new OutcomeStore(h.t.redis, h.t.keys),
      learned,
      audit: new AuditLog(h.t.redis, h.t.keys),
      policy: parsePolicy(testPolicy(h.marker, h.diskRoot)),
    });
    // Within the grace period its maker may still be auditing it: left alone.
    expect(await judgement.auditUnaudited(Date.now())).toBe(0);
    expect(await judgement.auditUnaudited(Date.now() + 60_000)).toBe(1);
    expect(await judgement.auditUnaudited(Date.now() + 60_000)).toBe(0);
    expect(await made()).toMatchObject([{ ruleId: rule?.id, evidence: ['inc_dead'] }]);
    expect(await verifyAuditChain(h.t.redis, h.t.keys)).toMatchObject({ ok: true });
  });
});
