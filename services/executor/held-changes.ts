import type { Queue } from 'bullmq';
import { z } from 'zod';
import type { ActionJob, ActionOutcome, TriageJob } from '../../shared/schemas/jobs.js';
import type { Placement } from '../../shared/targets/drivers/placement.js';
import type { ChangeBudgets, FleetHold, HeldChange, Released, Verdict } from './budgets.js';
import type { ActionClaims } from './claims.js';
import type { DecisionRecorder } from './recorder.js';

/** executor → executor, job name `held_release` on the actions queue: a held change owns a slot now. */
const heldReleaseSchema = z.object({
  resource: z.string().min(1).max(300),
  actionId: z.string().min(1).max(100),
});

const KEEPS_SLOT = new Set<ActionOutcome['decision']>(['executed', 'dry_run', 'held', 'unknown_outcome']);

/** Why a held change was cancelled, on its action record (`result`): triage words and routes it. */
export type HeldCancellation =
  | { cancelledBecause: 'held_too_long' }
  | { cancelledBecause: 'first_region'; first: HeldChange['first'] }
  | { cancelledBecause: 'fleet_closed' | 'fleet_cancelled'; fleetId: string; by?: string };

type Handle = (job: ActionJob, queue: 'agent' | 'human') => Promise<ActionOutcome>;

/**
 * What the executor does around change budgets: takes a slot before a change runs (or holds it),
 * frees the slot when the change will not be verified or its verdict came, and runs held changes
 * by themselves, in priority order, as their slots free.
 */
export class HeldChanges {
  constructor(
    private readonly deps: {
      budgets: ChangeBudgets;
      claims: ActionClaims;
      /** Where released changes are queued to run (the executor's own `held_release` jobs). */
      actions: Queue;
      triage: Queue<TriageJob>;
      recorder: DecisionRecorder;
    },
  ) {}

  /** Changes deciding in this process that took their incident's slot: theirs to give back. */
  private readonly taking = new Set<string>();

  /**
   * The agent's own change waits while a fleet incident is open on its resource and no human
   * released its region. A human-approved change is that human's decision: budgets still apply.
   */
  async holdForFleet(
    job: ActionJob,
    placement: Placement,
  ): Promise<{ decision: 'held'; reason: string } | null> {
    if (job.approvalId) return null;
    const change = budgeted(job, placement);
    const fleet = await this.deps.budgets.holdForFleet(change);
    return fleet ? { decision: 'held', reason: fleetHeldReason(fleet, change.resource) } : null;
  }

  /** A slot for the change, or the `held` decision that says what holds it (`priority`: its incident's). */
  async admit(
    job: ActionJob,
    placement: Placement,
    priority: number | undefined,
  ): Promise<{ decision: 'held'; reason: string } | null> {
    const taken = await this.deps.budgets.take({ ...budgeted(job, placement), priority: priority ?? 10 });
    if (!taken.ok) return { decision: 'held', reason: taken.reason };
    if (taken.fresh) this.taking.add(job.actionId);
    return null;
  }

  /**
   * After a decision: a change refused or failed gives its slot back at once; one that ran (or may
   * have: unknown_outcome) keeps it until its verdict or its lease's end.
   */
  async settle(job: ActionJob, outcome: ActionOutcome): Promise<void> {
    const took = this.taking.delete(job.actionId);
    if (!took || KEEPS_SLOT.has(outcome.decision)) return;
    const verdict: Verdict = outcome.decision === 'failed' ? 'failed' : 'none';
    await this.after(await this.deps.budgets.release(job.incidentId, verdict));
  }

  /** Its verification ended (any verdict): the slot is free, once. */
  async verdict(incidentId: string, effective: boolean): Promise<void> {
    await this.after(await this.deps.budgets.release(incidentId, effective ? 'fixed' : 'ineffective'));
  }

  /** Slots whose lease ended (a killed executor's, a verdict that never came) go to held changes. */
  async sweep(): Promise<void> {
    for (const resource of await this.deps.budgets.resourcesHolding()) await this.promote(resource);
  }

  /** Gives freed slots on a resource to its held changes (a region a human released, a dropped change's slot). */
  async promote(resource: string): Promise<void> {
    await this.after(await this.deps.budgets.sweep(resource));
  }

  /**
   * After a human released a region from a fleet incident: its held changes there go to the budgets
   * (in priority order). Returns how many now own a slot or wait only for one (counted before any is
   * claimed to run).
   */
  async releaseForFleet(resource: string, fleetId: string, region: string): Promise<number> {
    const released = await this.deps.budgets.sweep(resource);
    const waiting = await this.deps.budgets.waiting(resource);
    await this.after(released);
    return waiting.filter((change) => change.fleet === fleetId && change.region === region).length;
  }

  /** Drops the changes held for a fleet incident on these resources: recorded cancelled, triage told. */
  async dropFleet(
    resources: string[],
    fleetId: string,
    because: 'fleet_closed' | 'fleet_cancelled',
    by: string | undefined,
  ): Promise<number> {
    let dropped = 0;
    for (const resource of resources) {
      const changes = await this.deps.budgets.dropFleet(resource, fleetId);
      for (const change of changes) await this.dropForFleet(change, because, by);
      dropped += changes.length;
      // A dropped change that owned a slot freed it.
      if (changes.length > 0) await this.promote(resource);
    }
    return dropped;
  }

  /** A `held_release` job: the held change, decided again now that it owns a slot. */
  async rerun(raw: unknown, handle: Handle): Promise<ActionOutcome | { skipped: string }> {
    const parsed = heldReleaseSchema.safeParse(raw);
    if (!parsed.success) return { skipped: 'invalid held_release job' };
    const held = await this.deps.budgets.claimPromoted(parsed.data.resource, parsed.data.actionId);
    if (!held) return { skipped: `${parsed.data.actionId} is not a held change with a slot` };
    // Released from a fleet incident that closed since: never run after it closes.
    if (held.fleet && !(await this.deps.budgets.fleetIsOpen(held.fleet))) {
      await this.dropForFleet(held, 'fleet_closed', await this.deps.budgets.fleetClosedBy(held.fleet));
      await this.after(await this.deps.budgets.release(held.job.incidentId, 'none'));
      return { skipped: `${held.job.actionId}: its fleet incident ${held.fleet} closed; not run` };
    }
    if (!(await this.deps.claims.reopenHeld(held.job.actionId)))
      return { skipped: `${parsed.data.actionId} is not a held change with a slot` };
    // Its requester's wait ended with `held`: running it when its slot frees is the executor's own.
    const { deadline: _answered, ...job } = held.job;
    // The slot was given to this change: if it does not run, it gives the slot back.
    this.taking.add(job.actionId);
    const outcome = await handle(job, held.queue);
    // An approved change that ran is verified like any approved one (the processor tells triage).
    const ranApproved =
      held.job.approvalId && (outcome.decision === 'executed' || outcome.decision === 'dry_run');
    if (!ranApproved) await this.tellTriage(held.job);
    return outcome;
  }

  private async after({ promoted, expired, cancelled, fleetClosed }: Released): Promise<void> {
    for (const change of promoted)
      await this.deps.actions.add(
        'held_release',
        { resource: change.resource, actionId: change.job.actionId },
        { jobId: `held-release-${change.job.actionId}` },
      );
    for (const change of expired)
      await this.drop(
        change,
        `cancelled: held longer than budgets.holdSeconds waiting for a slot on ${change.resource}; not run`,
        { cancelledBecause: 'held_too_long' },
      );
    for (const change of cancelled)
      await this.drop(
        change,
        `cancelled: ${change.job.tool} of ${change.resource} did not fix it in ${change.first?.region ?? 'the region that went first'} (${change.first?.actionId ?? '?'}); not run in ${change.region}`,
        { cancelledBecause: 'first_region', first: change.first },
      );
    for (const { change, by } of fleetClosed)
      await this.dropForFleet(change, 'fleet_closed', by || undefined);
  }

  private async dropForFleet(
    change: HeldChange,
    because: 'fleet_closed' | 'fleet_cancelled',
    by: string | undefined,
  ): Promise<void> {
    const fleetId = change.fleet ?? '?';
    const reason =
      because === 'fleet_closed'
        ? `cancelled: fleet incident ${fleetId} was resolved${by ? ` by ${by}` : ''}; not run`
        : `cancelled by ${by ?? 'a human'} from fleet incident ${fleetId}; not run`;
    await this.drop(change, reason, { cancelledBecause: because, fleetId, ...(by ? { by } : {}) });
  }

  private async tellTriage(job: ActionJob): Promise<void> {
    await this.deps.triage.add(
      'triage',
      { incidentId: job.incidentId, trigger: 'held_settled', actionId: job.actionId },
      { jobId: `triage-${job.incidentId}-${job.actionId}-held` },
    );
  }

  /** A held change that will never run: recorded as cancelled with why, and its incident settled. */
  private async drop(change: HeldChange, reason: string, result: HeldCancellation): Promise<void> {
    await this.deps.recorder.record(change.job, {
      actionId: change.job.actionId,
      decision: 'cancelled',
      reason,
      result,
      durationMs: Date.now() - change.heldAt,
    });
    await this.tellTriage(change.job);
  }
}

/** A change as budgets count it: on its resource (or its host), in its region, from its queue. */
function budgeted(job: ActionJob, placement: Placement) {
  return {
    job,
    queue: job.requestedBy === 'agent' ? ('agent' as const) : ('human' as const),
    resource: placement.resource ?? placement.host,
    region: placement.region,
  };
}

/** "held: part of fleet incident inc_1 (ServiceDown on api-gateway in 3 regions, 9 targets); …". */
function fleetHeldReason(fleet: FleetHold, resource: string): string {
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  return `held: part of fleet incident ${fleet.fleetId} (${fleet.alertname} on ${resource} in ${plural(fleet.regions, 'region')}, ${plural(fleet.targets, 'target')}); every automated change to ${resource} waits for a human to release a region or cancel`;
}
