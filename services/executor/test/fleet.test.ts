import type { Queue } from 'bullmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../shared/logger.js';
import { createMetrics } from '../../../shared/metrics.js';
import { createQueue, QUEUE } from '../../../shared/queues.js';
import type { TriageJob } from '../../../shared/schemas/jobs.js';
import { audited as auditedIn } from '../../../test/support/audit.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { closeFleet, openFleet } from '../../../test/support/fleets.js';
import { openIncident } from '../../../test/support/incidents.js';
import { eventually } from '../../../test/support/redis.js';
import { AuditLog } from '../audit.js';
import { budgetsSchema } from '../budget-policy.js';
import { ChangeBudgets } from '../budgets.js';
import { ActionClaims } from '../claims.js';
import { FleetHolds } from '../fleet-holds.js';
import { HeldChanges } from '../held-changes.js';
import { parsePolicy } from '../policy.js';
import { DecisionRecorder } from '../recorder.js';
import { SETTLE_GRACE_MS } from '../sweeper.js';

const FLEET = 'inc_fleet1';
const REGIONS = ['eu-west', 'us-east', 'ap-south'];
const HELD_BY_FLEET = new RegExp(
  `^held: part of fleet incident ${FLEET} \\(ServiceDown on api-gateway in 3 regions, 9 targets\\); every automated change to api-gateway waits for a human to release a region or cancel$`,
);
const restart = { service: 'api-gateway', host: 'app-server-01', reason: 'crashed' };

let h: ExecutorHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Member {
  incidentId: string;
  actionId: string;
  region: string;
}

async function start(options: { env?: Record<string, string> } = {}) {
  h = await startExecutorHarness({
    budgets: '{ maxInFlight: 1, maxInFlightFleet: 2 }',
    restartsPerHour: 100,
    ...options,
  });
  return h;
}

/** 9 ServiceDown incidents on api-gateway, 3 per region, and the fleet incident ingest opened for them. */
async function badDeploy(harness: ExecutorHarness): Promise<Member[]> {
  const members: Member[] = [];
  for (const region of REGIONS)
    for (let i = 1; i <= 3; i++) {
      const incidentId = await openIncident(harness.t, {
        alertname: 'ServiceDown',
        service: 'api-gateway',
        labels: { region, zone: 'a' },
      });
      members.push({ incidentId, actionId: `act-${region}-${i}`, region });
    }
  await openFleet(harness.t, {
    id: FLEET,
    alertname: 'ServiceDown',
    resource: 'api-gateway',
    places: members.map((m, i) => ({ target: 'local', host: `api-${i}`, region: m.region })),
    members: members.map((m) => m.incidentId),
  });
  return members;
}

/** Every member's agent restart, as triage asks for it. */
/** A ServiceDown incident on api-gateway in eu-west (no fleet incident). */
const euWestDown = (harness: ExecutorHarness) =>
  openIncident(harness.t, {
    alertname: 'ServiceDown',
    service: 'api-gateway',
    labels: { region: 'eu-west' },
  });

async function requestAll(harness: ExecutorHarness, members: Member[]) {
  return Promise.all(
    members.map((m) =>
      harness.submit({
        actionId: m.actionId,
        incidentId: m.incidentId,
        tool: 'restart_service',
        args: restart,
      }),
    ),
  );
}

async function decision(harness: ExecutorHarness, m: Member) {
  return (await harness.incidents.getAction(m.incidentId, m.actionId))?.decision;
}

/** Whether a held change was ever given a slot to run (its `held_release` job). */
async function promoted(harness: ExecutorHarness, m: Member): Promise<boolean> {
  return Boolean(await harness.actions.getJob(`held-release-${m.actionId}`));
}

/** Lets the executor act on anything it was going to (held_release jobs, sweeps). */
const settle = (ms = 1_500) => new Promise((resolve) => setTimeout(resolve, ms));

describe('fleet incidents in the executor', () => {
  it('holds every agent change to the resource while the fleet is open: 9 held naming it, 0 run, no approval asked', async () => {
    const harness = await start();
    const members = await badDeploy(harness);
    const outcomes = await requestAll(harness, members);
    for (const outcome of outcomes) {
      expect(outcome.decision).toBe('held');
      expect(outcome.reason).toMatch(HELD_BY_FLEET);
    }
    // A tool that always asks a human is held too: no per-target approval during a fleet.
    const [first] = members as [Member];
    const rollback = await harness.submit({
      incidentId: first.incidentId,
      tool: 'rollback_deployment',
      args: { service: 'api-gateway', reason: 'bad deploy' },
    });
    expect(rollback.decision).toBe('held');
    await settle();
    expect(harness.runs()).toEqual([]);
    expect(await harness.approvals.listPending()).toEqual([]);
    for (const m of members) expect(await decision(harness, m)).toBe('held');
  });

  it('does not hold a human-approved change (budgets still apply)', async () => {
    const harness = await start();
    const [eu1, eu2] = [await euWestDown(harness), await euWestDown(harness)];
    const args = { service: 'api-gateway', reason: 'bad deploy' };
    const asked = [
      await harness.submit({ incidentId: eu1, tool: 'rollback_deployment', args }),
      await harness.submit({ incidentId: eu2, tool: 'rollback_deployment', args }),
    ];
    for (const ask of asked) await harness.approvals.decide(ask.approvalId as string, 'approved', 'dana');
    await openFleet(harness.t, {
      id: FLEET,
      alertname: 'ServiceDown',
      resource: 'api-gateway',
      places: [{ target: 'local', host: 'a', region: 'eu-west' }],
    });
    const approved = (incidentId: string, approvalId: string) =>
      harness.submit({
        actionId: `run-${approvalId}`,
        incidentId,
        tool: 'rollback_deployment',
        args,
        approvalId,
        requestedBy: 'human:dana',
      });
    expect((await approved(eu1, asked[0]?.approvalId as string)).decision).toBe('executed');
    // The region's budget is taken by the first: the second is held by the budget, not the fleet.
    const second = await approved(eu2, asked[1]?.approvalId as string);
    expect(second.decision).toBe('held');
    expect(second.reason).toMatch(/^held: 1 change to api-gateway in eu-west already in flight/);
    expect(harness.runs()).toEqual(['rollback api-gateway']);
  });

  it('a human releases eu-west: only its changes run, one at a time within its budget, audited; the rest stay held', async () => {
    const harness = await start();
    const members = await badDeploy(harness);
    await requestAll(harness, members);
    const eu = members.filter((m) => m.region === 'eu-west');
    const others = members.filter((m) => m.region !== 'eu-west');

    expect(
      await harness.command('fleet_release', { fleetId: FLEET, region: 'eu-west', by: 'alice' }),
    ).toEqual({
      released: 3,
    });
    await eventually(async () => harness.runs().length === 1 || undefined, 'one eu-west restart to run');
    await settle();
    // maxInFlight 1 per region: one runs, the next waits for its verdict.
    expect(harness.runs()).toEqual(['restart api-gateway']);
    const ran = await eventually(async () => {
      for (const m of eu) if ((await decision(harness, m)) === 'executed') return m;
      return undefined;
    }, 'the eu-west change that ran');

    // The same release again (a retry, or a second click) promotes nothing twice: 2 still wait.
    expect(
      await harness.command('fleet_release', { fleetId: FLEET, region: 'eu-west', by: 'alice' }),
    ).toEqual({
      released: 2,
    });
    await settle();
    expect(harness.runs()).toHaveLength(1);
    expect(await auditedIn(harness.t, 'fleet_released')).toEqual([
      expect.objectContaining({ fleetId: FLEET, region: 'eu-west', by: 'alice' }),
    ]);

    await harness.feedback({ incidentId: ran.incidentId, actionId: ran.actionId, effective: true });
    await eventually(async () => harness.runs().length === 2 || undefined, 'the next eu-west restart to run');
    await settle();
    expect(harness.runs()).toHaveLength(2);
    for (const m of others) expect(await decision(harness, m)).toBe('held');
  });

  it('does not expire fleet-held changes by budgets.holdSeconds while the fleet holds them; a release starts their clock', async () => {
    h = await startExecutorHarness({
      budgets: '{ maxInFlight: 1, maxInFlightFleet: 2, holdSeconds: 1 }',
      restartsPerHour: 100,
      env: { APPROVAL_SWEEP_SECONDS: '1' },
    });
    const harness = h;
    const members = await badDeploy(harness);
    await requestAll(harness, members);
    // Several sweeps, each past holdSeconds: humans decide, not the clock.
    await settle(2_500);
    for (const m of members) expect(await decision(harness, m)).toBe('held');
    await harness.command('fleet_release', { fleetId: FLEET, region: 'us-east', by: 'alice' });
    await eventually(async () => harness.runs().length === 1 || undefined, 'a us-east restart to run');
  });

  it('refuses a release unless the fleet is open, and skips an invalid job', async () => {
    const harness = await start();
    expect(
      await harness.command('fleet_release', { fleetId: 'inc_none', region: 'eu-west', by: 'alice' }),
    ).toEqual({ error: 'fleet incident inc_none is not open' });
    expect(await harness.command('fleet_release', { fleetId: FLEET, region: 'eu-west', by: 'a b' })).toEqual({
      skipped: 'invalid fleet_release job',
    });
    expect(await harness.command('fleet_cancel', { fleetId: '../x', by: 'alice' })).toEqual({
      skipped: 'invalid fleet_cancel job',
    });
    expect(await harness.command('fleet_closed', {})).toEqual({ skipped: 'invalid fleet_closed job' });
    expect(await auditedIn(harness.t, 'fleet_released')).toEqual([]);
  });

  it('a human cancels: every held change is cancelled, none ever runs, audited, triage told', async () => {
    const harness = await start();
    const members = await badDeploy(harness);
    await requestAll(harness, members);
    expect(
      await harness.command('fleet_cancel', { fleetId: FLEET, by: 'bob', reason: 'rolling back by hand' }),
    ).toEqual({ cancelled: 9 });
    expect(await harness.command('fleet_cancel', { fleetId: FLEET, by: 'bob' })).toEqual({ cancelled: 0 });
    const triage = createQueue(QUEUE.triage, harness.t.redis, harness.t.keys.bullPrefix);
    for (const m of members) {
      const record = await harness.incidents.getAction(m.incidentId, m.actionId);
      expect(record).toMatchObject({
        decision: 'cancelled',
        reason: `cancelled by bob from fleet incident ${FLEET}; not run`,
        result: { cancelledBecause: 'fleet_cancelled', fleetId: FLEET, by: 'bob' },
      });
      expect(await triage.getJob(`triage-${m.incidentId}-${m.actionId}-held`)).toBeTruthy();
    }
    await triage.close();
    // Released afterwards: nothing is left to run.
    await harness.command('fleet_release', { fleetId: FLEET, region: 'eu-west', by: 'alice' });
    await settle();
    expect(harness.runs()).toEqual([]);
    expect(await auditedIn(harness.t, 'fleet_cancelled')).toEqual([
      expect.objectContaining({ fleetId: FLEET, by: 'bob', reason: 'rolling back by hand' }),
      expect.objectContaining({ fleetId: FLEET, by: 'bob' }),
    ]);
  });

  it('the fleet closes with no job sent: the sweep drops its held changes, never run', async () => {
    const harness = await start({ env: { APPROVAL_SWEEP_SECONDS: '1' } });
    const members = await badDeploy(harness);
    await requestAll(harness, members);
    await closeFleet(harness.t, FLEET, 'alice');
    for (const m of members) {
      const record = await eventually(async () => {
        const action = await harness.incidents.getAction(m.incidentId, m.actionId);
        return action?.decision === 'cancelled' ? action : undefined;
      }, 'the sweep to drop the held change');
      expect(record).toMatchObject({
        reason: `cancelled: fleet incident ${FLEET} was resolved by alice; not run`,
        result: { cancelledBecause: 'fleet_closed', fleetId: FLEET, by: 'alice' },
      });
    }
    // Dropped by the sweep's script itself: none was ever given a slot.
    for (const m of members) expect(await promoted(harness, m)).toBe(false);
    // The job that ingest sends finds nothing left, and is audited.
    expect(await harness.command('fleet_closed', { fleetId: FLEET })).toEqual({ cancelled: 0 });
    expect(await auditedIn(harness.t, 'fleet_closed')).toEqual([
      expect.objectContaining({ fleetId: FLEET, by: 'alice' }),
    ]);
    expect(harness.runs()).toEqual([]);
  });

  it('a fleet closing while released changes wait for their budget: they are cancelled, not promoted', async () => {
    const harness = await start();
    const members = await badDeploy(harness);
    await requestAll(harness, members);
    await harness.command('fleet_release', { fleetId: FLEET, region: 'eu-west', by: 'alice' });
    const eu = members.filter((m) => m.region === 'eu-west');
    const ran = await eventually(async () => {
      for (const m of eu) if ((await decision(harness, m)) === 'executed') return m;
      return undefined;
    }, 'the first eu-west change to run');
    await closeFleet(harness.t, FLEET);
    // Its verdict frees the slot: the release script finds the fleet closed and cancels the rest.
    await harness.feedback({ incidentId: ran.incidentId, actionId: ran.actionId, effective: true });
    for (const m of members.filter((m) => m !== ran))
      await eventually(
        async () => (await decision(harness, m)) === 'cancelled' || undefined,
        'the waiting changes to be cancelled',
      );
    await settle();
    expect(harness.runs()).toEqual(['restart api-gateway']);
    for (const m of members.filter((m) => m !== ran)) expect(await promoted(harness, m)).toBe(false);
    expect(await harness.command('fleet_closed', { fleetId: FLEET })).toEqual({ cancelled: 0 });
  });
});

describe('held changes promoted but never queued', () => {
  it('the sweep queues the run of a change that owns a slot (the executor died between promoting and queueing it)', async () => {
    const harness = await start({ env: { APPROVAL_SWEEP_SECONDS: '1' } });
    const [first, second] = [await euWestDown(harness), await euWestDown(harness)];
    await harness.submit({ incidentId: first, tool: 'restart_service', args: restart });
    expect(
      (
        await harness.submit({
          actionId: 'waits',
          incidentId: second,
          tool: 'restart_service',
          args: restart,
        })
      ).decision,
    ).toBe('held');
    // What a dying executor leaves: the verdict's release script ran (the held change owns the slot)
    // and its `held_release` job was never queued.
    const budgets = new ChangeBudgets(
      harness.t.redis,
      harness.t.keys,
      budgetsSchema.parse({ maxInFlight: 1, maxInFlightFleet: 2 }),
    );
    const released = await budgets.release(first, 'fixed');
    expect(released.promoted.map((change) => change.job.actionId)).toEqual(['waits']);
    await eventually(
      async () => (await harness.incidents.getAction(second, 'waits'))?.decision === 'executed' || undefined,
      'the sweep to run the promoted change',
    );
    await settle();
    expect(harness.runs()).toEqual(['restart api-gateway', 'restart api-gateway']);
  });
});

describe('widespread in the policy', () => {
  const base = `version: 1
limits: { stateChangesPerHour: 10 }
breaker: { failureThreshold: 2, windowSeconds: 60, cooldownSeconds: 60 }
tools: {}
`;

  it('has defaults, and stops with file, line and problem on a bad block', () => {
    expect(parsePolicy(base).widespread).toEqual({
      minRegions: 2,
      minTargets: 5,
      minFraction: 0.5,
      windowSeconds: 300,
    });
    expect(() => parsePolicy(`${base}widespread: { minRegions: 1 }\n`, 'p.yaml')).toThrow(
      /p\.yaml:5:\d+: widespread\.minRegions: /,
    );
    expect(() => parsePolicy(`${base}widespread: { minFraction: 1.5 }\n`, 'p.yaml')).toThrow(
      /p\.yaml:5:\d+: widespread\.minFraction: /,
    );
    expect(() => parsePolicy(`${base}widespread: { regions: 2 }\n`, 'p.yaml')).toThrow(/p\.yaml:5:\d+: /);
  });
});

/** Another executor's parts on the harness's Redis (its own audit log and recorder), as service.ts wires them. */
function anotherExecutor(harness: ExecutorHarness, triage: Queue<TriageJob>) {
  const { redis, keys } = harness.t;
  const logger = createLogger('test', 'silent');
  const audit = new AuditLog(redis, keys);
  const budgets = new ChangeBudgets(
    redis,
    keys,
    budgetsSchema.parse({ maxInFlight: 1, maxInFlightFleet: 2 }),
  );
  const recorder = new DecisionRecorder({
    incidents: harness.incidents,
    audit,
    metrics: createMetrics('executor-test'),
    logger,
    mode: 'live',
    knownTool: () => true,
  });
  const held = new HeldChanges({
    budgets,
    claims: new ActionClaims(redis, keys),
    actions: harness.actions,
    triage,
    recorder,
    logger,
  });
  return { budgets, held, fleet: new FleetHolds({ budgets, held, audit, logger, mode: 'live' }) };
}

/** What recording one held change's cancellation left: its record, timeline entries, audit entries, triage job. */
async function cancellationOf(harness: ExecutorHarness, triage: Queue<TriageJob>, m: Member) {
  const timeline = await harness.incidents.timeline(m.incidentId);
  const actions = await auditedIn(harness.t, 'action');
  return {
    record: await harness.incidents.getAction(m.incidentId, m.actionId),
    timeline: timeline.filter(
      (entry) => entry.type === 'action' && entry.actionId === m.actionId && entry.decision === 'cancelled',
    ).length,
    audit: actions.filter((entry) => entry.actionId === m.actionId && entry.decision === 'cancelled').length,
    triage: Boolean(await triage.getJob(`triage-${m.incidentId}-${m.actionId}-held`)),
  };
}

/** The bad deploy with every member's restart held, and the triage queue to see what triage is told. */
async function heldBadDeploy(options: { env?: Record<string, string> } = {}) {
  const harness = await start(options);
  const members = await badDeploy(harness);
  await requestAll(harness, members);
  const triage = createQueue<TriageJob>(QUEUE.triage, harness.t.redis, harness.t.keys.bullPrefix);
  return { harness, members, triage };
}

describe('held changes dropped but not recorded (the executor died in between)', () => {
  it('the sweep records each cancellation left by the drop script, once, even when two sweeps race', async () => {
    const { harness, members, triage } = await heldBadDeploy();
    const other = anotherExecutor(harness, triage);
    // The drop script ran; the executor that ran it died before recording anything.
    const dropped = await other.budgets.dropFleet('api-gateway', FLEET, 'fleet_cancelled', 'bob');
    expect(dropped).toHaveLength(9);
    // Within the grace a live executor records its own: the sweep leaves them.
    await other.held.sweep();
    for (const m of members) expect(await decision(harness, m)).toBe('held');

    const later = Date.now() + SETTLE_GRACE_MS + 1;
    await Promise.all([other.held.sweep(later), other.held.sweep(later)]);
    await other.held.sweep(later);
    for (const m of members)
      expect(await cancellationOf(harness, triage, m)).toEqual({
        record: expect.objectContaining({
          decision: 'cancelled',
          reason: `cancelled by bob from fleet incident ${FLEET}; not run`,
          result: { cancelledBecause: 'fleet_cancelled', fleetId: FLEET, by: 'bob' },
        }),
        timeline: 1,
        audit: 1,
        triage: true,
      });
    expect(await other.budgets.unrecorded(later)).toEqual({ entries: [], unreadable: [] });
    await triage.close();
    expect(harness.runs()).toEqual([]);
  });

  it('an unreadable record left there is removed and does not stop the others being recorded', async () => {
    const { harness, members, triage } = await heldBadDeploy();
    const other = anotherExecutor(harness, triage);
    const droppedKey = harness.t.keys.exec('budget:dropped');
    await harness.t.redis.hset(
      droppedKey,
      'act_garbled',
      '{"because":"fleet_closed","at":1',
      'act_old',
      '{}',
    );
    await other.budgets.dropFleet('api-gateway', FLEET, 'fleet_cancelled', 'bob');
    await other.held.sweep(Date.now() + SETTLE_GRACE_MS + 1);
    for (const m of members) expect(await decision(harness, m)).toBe('cancelled');
    expect(await harness.t.redis.hlen(droppedKey)).toBe(0);
    await triage.close();
  });

  it('a recording that fails half-way (triage not told) is finished by the sweep without writing anything twice', async () => {
    const { harness, members, triage } = await heldBadDeploy();
    vi.spyOn(triage, 'add').mockRejectedValueOnce(new Error('connection lost'));
    const other = anotherExecutor(harness, triage);
    // The first change's cancellation is on its incident and in the audit; then the process dies.
    await expect(
      other.fleet.cancel({ fleetId: FLEET, by: 'bob', reason: 'rolling back by hand' }, 'fleet-cancel-1'),
    ).rejects.toThrow('connection lost');
    await other.held.sweep(Date.now() + SETTLE_GRACE_MS + 1);
    for (const m of members)
      expect(await cancellationOf(harness, triage, m)).toEqual({
        record: expect.objectContaining({ decision: 'cancelled' }),
        timeline: 1,
        audit: 1,
        triage: true,
      });
    await triage.close();
  });

  it('a released change claimed to run after its fleet closed is dropped in the claim; the sweep records it if nobody did', async () => {
    // No sweep of the harness's executor during the test: only the other executor acts.
    const { harness, members, triage } = await heldBadDeploy({ env: { APPROVAL_SWEEP_SECONDS: '600' } });
    const other = anotherExecutor(harness, triage);
    await other.budgets.releaseRegion(FLEET, 'eu-west');
    const [promoted] = (await other.budgets.sweep('api-gateway')).promoted;
    const m = members.find((member) => member.actionId === promoted?.job.actionId) as Member;
    await closeFleet(harness.t, FLEET, 'alice');
    // Its `held_release` job claims it; the executor dies before recording the cancellation.
    expect(await other.budgets.claimPromoted('api-gateway', m.actionId)).toMatchObject({
      dropped: { because: 'fleet_closed', by: 'alice', change: { fleet: FLEET } },
    });
    expect(await decision(harness, m)).toBe('held');
    await other.held.sweep(Date.now() + SETTLE_GRACE_MS + 1);
    expect(await cancellationOf(harness, triage, m)).toEqual({
      record: expect.objectContaining({
        decision: 'cancelled',
        reason: `cancelled: fleet incident ${FLEET} was resolved by alice; not run`,
      }),
      timeline: 1,
      audit: 1,
      triage: true,
    });
    await triage.close();
    expect(harness.runs()).toEqual([]);
  });
});

it('a released change whose fleet record is gone is dropped in the claim, naming no one', async () => {
  const { harness, members, triage } = await heldBadDeploy({ env: { APPROVAL_SWEEP_SECONDS: '600' } });
  const other = anotherExecutor(harness, triage);
  await other.budgets.releaseRegion(FLEET, 'eu-west');
  const [promoted] = (await other.budgets.sweep('api-gateway')).promoted;
  const m = members.find((member) => member.actionId === promoted?.job.actionId) as Member;
  await harness.t.redis.del(harness.t.keys.fleet(FLEET));
  const claimed = await other.budgets.claimPromoted('api-gateway', m.actionId);
  expect(claimed).toMatchObject({ dropped: { because: 'fleet_closed', change: { fleet: FLEET } } });
  expect(claimed && 'dropped' in claimed && claimed.dropped.by).toBeUndefined();
  await triage.close();
});

describe('fleet jobs run again (a retry, a stalled job re-run)', () => {
  it('audits a fleet_cancel job once however often it runs, and two humans cancelling twice', async () => {
    const { harness, triage } = await heldBadDeploy();
    const { fleet } = anotherExecutor(harness, triage);
    const request = { fleetId: FLEET, by: 'bob', reason: 'rolling back by hand' };
    expect(await fleet.cancel(request, 'fleet-cancel-1')).toEqual({ cancelled: 9 });
    expect(await fleet.cancel(request, 'fleet-cancel-1')).toEqual({ cancelled: 0 });
    expect(await auditedIn(harness.t, 'fleet_cancelled')).toHaveLength(1);
    // Another request (its own job) is another human decision: audited too.
    await fleet.cancel({ fleetId: FLEET, by: 'carol' }, 'fleet-cancel-2');
    expect(await auditedIn(harness.t, 'fleet_cancelled')).toEqual([
      expect.objectContaining({ by: 'bob' }),
      expect.objectContaining({ by: 'carol' }),
    ]);
    await triage.close();
  });

  it('audits a fleet incident closing once, however many fleet_closed jobs run', async () => {
    const harness = await start();
    const members = await badDeploy(harness);
    await requestAll(harness, members);
    await closeFleet(harness.t, FLEET, 'alice');
    expect(await harness.command('fleet_closed', { fleetId: FLEET })).toEqual({ cancelled: 9 });
    expect(await harness.command('fleet_closed', { fleetId: FLEET })).toEqual({ cancelled: 0 });
    expect(await auditedIn(harness.t, 'fleet_closed')).toEqual([
      expect.objectContaining({ fleetId: FLEET, by: 'alice' }),
    ]);
  });
});
