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
    const submit = (incidentId: string, actionId: string) =>
      harness.submit({ actionId, incidentId, tool: 'restart_db_pool', args: restart });

    expect((await submit(eu1 as string, 'act-eu1')).decision).toBe('executed');
    const heldInRegion = await submit(eu2 as string, 'act-eu2');
    expect(heldInRegion).toMatchObject({ decision: 'held' });
    expect(heldInRegion.reason).toMatch(
      /^held: 1 change to api-gateway in eu-west already in flight \(act-eu1; budgets\.maxInFlight: 1\)/,
    );
    expect((await submit(us1 as string, 'act-us1')).decision).toBe('executed');
    const heldInFleet = await submit(ap1 as string, 'act-ap1');
    expect(heldInFleet.reason).toMatch(
      /^held: 2 changes to api-gateway across the fleet already in flight \(act-eu1, act-us1; budgets\.maxInFlightFleet: 2\)/,
    );
    // The target's own record: two ran.
    expect(harness.runs()).toEqual(['slow api-gateway', 'slow api-gateway']);
    expect((await harness.incidents.getAction(eu2 as string, 'act-eu2'))?.decision).toBe('held');

    // eu-west's change verified: its slot goes to the held change first in priority order (critical
    // ap-south, though eu-west's waited longer), which runs by itself.
    await harness.feedback({ incidentId: eu1, actionId: 'act-eu1', effective: true });
    await eventually(
      async () => (await harness.incidents.getAction(ap1 as string, 'act-ap1'))?.decision === 'executed',
      'the held ap-south change to run',
    );
    expect(harness.runs()).toHaveLength(3);
    expect((await harness.incidents.getAction(eu2 as string, 'act-eu2'))?.decision).toBe('held');

    // A second verdict for the same change frees nothing more: released exactly once.
    await harness.feedback({ incidentId: eu1, actionId: 'act-eu1', effective: true });
    expect((await harness.incidents.getAction(eu2 as string, 'act-eu2'))?.decision).toBe('held');

    await harness.feedback({ incidentId: us1, actionId: 'act-us1', effective: false });
    await eventually(
      async () => (await harness.incidents.getAction(eu2 as string, 'act-eu2'))?.decision === 'executed',
      'the held eu-west change to run',
    );
    expect(harness.runs()).toHaveLength(4);
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

  it('keeps dry-run accounting apart from live', async () => {
    h = await startExecutorHarness({ budgets: BUDGETS, mode: 'dry-run' });
    const incident = await crash(h, 'eu-west');
    expect((await h.submit({ incidentId: incident, tool: 'restart_db_pool', args: restart })).decision).toBe(
      'dry_run',
    );
    expect((await h.submit({ incidentId: incident, tool: 'restart_db_pool', args: restart })).decision).toBe(
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
