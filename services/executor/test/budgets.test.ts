import { afterEach, describe, expect, it } from 'vitest';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { openIncident } from '../../../test/support/incidents.js';
import { eventually } from '../../../test/support/redis.js';
import { parsePolicy } from '../policy.js';

const BUDGETS = '{ maxInFlight: 1, maxInFlightFleet: 2 }';

let h: ExecutorHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** An incident for api-gateway in a region (its alert's `region` label: TOPOLOGY_LABELS' default). */
function crash(harness: ExecutorHarness, region: string, severity = 'warning') {
  return openIncident(harness.t, {
    alertname: 'ServiceDown',
    service: 'api-gateway',
    severity,
    labels: { region, zone: 'a' },
  });
}

const restart = { service: 'api-gateway', reason: 'crashed' };

describe('change budgets', () => {
  it('holds a change beyond a region or fleet budget, naming what holds it; a verdict runs the next by itself in priority order', async () => {
    h = await startExecutorHarness({ budgets: BUDGETS });
    const harness = h;
    const [eu1, eu2, us1, ap1] = [
      await crash(harness, 'eu-west'),
      await crash(harness, 'eu-west'),
      await crash(harness, 'us-east'),
      await crash(harness, 'ap-south', 'critical'),
    ];
    const pool = (incidentId: string, actionId: string) =>
      harness.submit({ actionId, incidentId, tool: 'restart_db_pool', args: restart });
    const action = async (incidentId: string, actionId: string) =>
      (await harness.incidents.getAction(incidentId, actionId))?.decision;

    expect((await pool(eu1 as string, 'act-eu1')).decision).toBe('executed');
    const heldInRegion = await pool(eu2 as string, 'act-eu2');
    expect(heldInRegion).toMatchObject({ decision: 'held' });
    expect(heldInRegion.reason).toMatch(
      /^held: 1 change to api-gateway in eu-west already in flight \(act-eu1; budgets\.maxInFlight: 1\)/,
    );
    // Another fix to the same resource counts against the same budgets.
    const other = await harness.submit({
      actionId: 'act-us1',
      incidentId: us1,
      tool: 'restart_service',
      args: { ...restart, host: 'app-server-01' },
    });
    expect(other.decision).toBe('executed');
    const heldInFleet = await harness.submit({
      actionId: 'act-ap1',
      incidentId: ap1,
      tool: 'restart_consumers',
      args: restart,
    });
    expect(heldInFleet.reason).toMatch(
      /^held: 2 changes to api-gateway across the fleet already in flight \(act-eu1, act-us1; budgets\.maxInFlightFleet: 2\)/,
    );
    // The targets' own record: two ran.
    expect(harness.runs()).toEqual(['slow api-gateway', 'restart api-gateway']);
    expect(await action(eu2 as string, 'act-eu2')).toBe('held');

    // eu-west's change verified: its slot goes to the held change first in priority order (critical
    // ap-south, though eu-west's waited longer), which runs by itself; its command fails, so its slot
    // frees at once and eu-west's second change runs.
    await harness.feedback({ incidentId: eu1, actionId: 'act-eu1', effective: true });
    await eventually(async () => (await action(eu2 as string, 'act-eu2')) === 'executed', 'eu-west to run');
    expect(await action(ap1 as string, 'act-ap1')).toBe('failed');
    expect(harness.runs()).toEqual([
      'slow api-gateway',
      'restart api-gateway',
      'consumers api-gateway',
      'slow api-gateway',
    ]);

    // A second verdict for the same change frees nothing more: released exactly once.
    const slots = harness.t.keys.exec('budget:api-gateway:slots');
    await harness.feedback({ incidentId: eu1, actionId: 'act-eu1', effective: true });
    expect(await harness.t.redis.zrange(slots, 0, -1)).toEqual(expect.arrayContaining([us1, eu2]));
    expect(await harness.t.redis.zcard(slots)).toBe(2);
  });

  it('goes region by region: the next region runs once the first is verified fixed', async () => {
    h = await startExecutorHarness({ budgets: '{ maxInFlight: 1, maxInFlightFleet: 5 }' });
    const harness = h;
    const [eu, us] = [await crash(harness, 'eu-west'), await crash(harness, 'us-east')];
    const pool = (incidentId: string, actionId: string) =>
      harness.submit({ actionId, incidentId, tool: 'restart_db_pool', args: restart });
    expect((await pool(eu, 'first-eu')).decision).toBe('executed');
    const held = await pool(us, 'first-us');
    expect(held.reason).toBe(
      'held: restart_db_pool of api-gateway goes region by region; eu-west first (first-eu), until it is verified fixed',
    );
    await harness.feedback({ incidentId: eu, actionId: 'first-eu', effective: true });
    await eventually(
      async () => (await harness.incidents.getAction(us, 'first-us'))?.decision === 'executed',
      'us-east to run',
    );
    expect(harness.runs()).toEqual(['slow api-gateway', 'slow api-gateway']);
  });

  it('cancels the held regions when the first region’s fix is ineffective', async () => {
    h = await startExecutorHarness({ budgets: '{ maxInFlight: 1, maxInFlightFleet: 5 }' });
    const harness = h;
    const [eu, us, ap] = [
      await crash(harness, 'eu-west'),
      await crash(harness, 'us-east'),
      await crash(harness, 'ap-south'),
    ];
    const pool = (incidentId: string, actionId: string) =>
      harness.submit({ actionId, incidentId, tool: 'restart_db_pool', args: restart });
    expect((await pool(eu, 'bad-eu')).decision).toBe('executed');
    expect((await pool(us, 'bad-us')).decision).toBe('held');
    expect((await pool(ap, 'bad-ap')).decision).toBe('held');
    await harness.feedback({ incidentId: eu, actionId: 'bad-eu', effective: false });
    for (const [incident, id, region] of [
      [us, 'bad-us', 'us-east'],
      [ap, 'bad-ap', 'ap-south'],
    ] as const) {
      const record = await harness.incidents.getAction(incident, id);
      expect(record).toMatchObject({
        decision: 'cancelled',
        reason: `cancelled: restart_db_pool of api-gateway did not fix it in eu-west (bad-eu); not run in ${region}`,
      });
    }
    expect(harness.runs()).toEqual(['slow api-gateway']);
  });

  it('gives the slot of a change that did not run back at once', async () => {
    h = await startExecutorHarness({ budgets: '{ maxInFlight: 1, maxInFlightFleet: 1 }' });
    const incident = await crash(h, 'eu-west');
    // restart_consumers' command fails: nothing to verify, the slot is free again.
    const failed = await h.submit({
      incidentId: incident,
      tool: 'restart_consumers',
      args: { service: 'api-gateway', reason: 'x' },
    });
    expect(failed.decision).toBe('failed');
    const next = await h.submit({ incidentId: incident, tool: 'restart_db_pool', args: restart });
    expect(next.decision).toBe('executed');
  });

  it('runs a held change when its slot frees even after its requester stopped waiting for the decision', async () => {
    h = await startExecutorHarness({ budgets: '{ maxInFlight: 1, maxInFlightFleet: 1 }' });
    const harness = h;
    const [eu, us] = [await crash(harness, 'eu-west'), await crash(harness, 'us-east')];
    await harness.submit({ actionId: 'late-eu', incidentId: eu, tool: 'restart_db_pool', args: restart });
    // triage waits a bounded time for a decision; `held` is that decision, and the change is the executor's to run.
    const deadline = new Date(Date.now() + 300).toISOString();
    const held = await harness.submit({
      actionId: 'late-us',
      incidentId: us,
      tool: 'restart_db_pool',
      args: restart,
      deadline,
    });
    expect(held.decision).toBe('held');
    await eventually(async () => Date.now() > Date.parse(deadline) + 100, 'the deadline to pass');
    await harness.feedback({ incidentId: eu, actionId: 'late-eu', effective: true });
    const record = await eventually(async () => {
      const action = await harness.incidents.getAction(us, 'late-us');
      return action?.decision === 'held' ? undefined : action;
    }, 'the held change to be decided again');
    expect(record.reason).toMatch(/^ran: /);
    expect(record.decision).toBe('executed');
  });

  it('cancels a change held longer than budgets.holdSeconds', async () => {
    h = await startExecutorHarness({
      budgets: '{ maxInFlight: 1, maxInFlightFleet: 1, holdSeconds: 1 }',
      env: { APPROVAL_SWEEP_SECONDS: '1' },
    });
    const harness = h;
    const [first, incident] = [await crash(harness, 'eu-west'), await crash(harness, 'eu-west')];
    await harness.submit({ incidentId: first, tool: 'restart_db_pool', args: restart });
    const held = await harness.submit({
      actionId: 'waits',
      incidentId: incident,
      tool: 'restart_db_pool',
      args: restart,
    });
    expect(held.decision).toBe('held');
    const record = await eventually(async () => {
      const action = await harness.incidents.getAction(incident, 'waits');
      return action?.decision === 'cancelled' ? action : undefined;
    }, 'the held change to expire');
    expect(record.reason).toBe(
      'cancelled: held longer than budgets.holdSeconds waiting for a slot on api-gateway; not run',
    );
    expect(harness.runs()).toHaveLength(1);
  });

  it('lets an incident holding a slot change its own resource again (rate limits judge that)', async () => {
    h = await startExecutorHarness({ budgets: '{ maxInFlight: 1, maxInFlightFleet: 1 }' });
    const incident = await crash(h, 'eu-west');
    for (let i = 0; i < 2; i++)
      expect(
        (await h.submit({ incidentId: incident, tool: 'restart_db_pool', args: restart })).decision,
      ).toBe('executed');
  });

  it('keeps dry-run accounting apart from live', async () => {
    h = await startExecutorHarness({ budgets: BUDGETS, mode: 'dry-run' });
    const [incident, other] = [await crash(h, 'eu-west'), await crash(h, 'eu-west')];
    expect((await h.submit({ incidentId: incident, tool: 'restart_db_pool', args: restart })).decision).toBe(
      'dry_run',
    );
    expect((await h.submit({ incidentId: other, tool: 'restart_db_pool', args: restart })).decision).toBe(
      'held',
    );
    await h.executor.close();
    const live = await startExecutorHarness({ budgets: BUDGETS, t: h.t });
    try {
      // Promoting to live starts with clean budgets.
      expect(
        (await live.submit({ incidentId: incident, tool: 'restart_db_pool', args: restart })).decision,
      ).not.toBe('held');
    } finally {
      await live.close();
    }
  });
});

describe('budgets in the policy', () => {
  const base = `version: 1
limits: { stateChangesPerHour: 10 }
breaker: { failureThreshold: 2, windowSeconds: 60, cooldownSeconds: 60 }
tools: {}
`;

  it('defaults to 1 per region and 2 across the fleet', () => {
    expect(parsePolicy(base).budgets).toEqual({
      maxInFlight: 1,
      maxInFlightFleet: 2,
      leaseSeconds: 600,
      holdSeconds: 900,
    });
  });

  it('stops with file, line and problem on a bad block', () => {
    expect(() => parsePolicy(`${base}budgets: { maxInFlight: 0 }\n`, 'p.yaml')).toThrow(
      /p\.yaml:5:\d+: budgets\.maxInFlight: /,
    );
    expect(() => parsePolicy(`${base}budgets: { maxInFlight: 3, maxInFlightFleet: 2 }\n`, 'p.yaml')).toThrow(
      /maxInFlight \(per region\) cannot exceed maxInFlightFleet/,
    );
    expect(() => parsePolicy(`${base}budgets: { perRegion: 1 }\n`, 'p.yaml')).toThrow(/p\.yaml:5:\d+: /);
  });
});
