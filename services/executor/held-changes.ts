import type { Queue } from 'bullmq';
import { z } from 'zod';
import type { Logger } from '../../shared/logger.js';
import type { ActionJob, ActionOutcome, TriageJob } from '../../shared/schemas/jobs.js';
import type { Placement } from '../../shared/targets/drivers/placement.js';
import type { ChangeBudgets, DroppedChange, FleetHold, Released, Verdict } from './budgets.js';
import type { ActionClaims } from './claims.js';
import type { DecisionRecorder } from './recorder.js';
import { SETTLE_GRACE_MS } from './sweeper.js';

/** executor → executor, job name `held_release` on the actions queue: a held change owns a slot now. */
const heldReleaseSchema = z.object({
  resource: z.string().min(1).max(300),
  actionId: z.string().min(1).max(100),
});

const KEEPS_SLOT = new Set<ActionOutcome['decision']>(['executed', 'dry_run', 'held', 'unknown_outcome']);

/** Why a held change was cancelled, on its action record (`result`): triage words and routes it. */
export type HeldCancellation =
  | { cancelledBecause: 'held_too_long' }
  | { cancelledBecause: 'first_region'; first: DroppedChange['first'] }
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
      logger: Logger;
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

  /**
   * Slots whose lease ended (a killed executor's, a verdict that never came) go to held changes, and
   * the cancellations a dead executor dropped but never recorded are recorded (those dropped more
   * than the sweeper's grace ago: a live executor records its own).
   */
  async sweep(now = Date.now()): Promise<void> {
    for (const resource of await this.deps.budgets.resourcesHolding()) await this.promote(resource);
    const { entries, unreadable } = await this.deps.budgets.unrecorded(now - SETTLE_GRACE_MS);
    if (unreadable.length > 0)
      this.deps.logger.error(
        { actionIds: unreadable },
        'unreadable dropped-change records removed, not recorded',
      );
    // One that fails to record is retried at the next sweep; the others are not held up by it.
    for (const dropped of entries)
      await this.drop(dropped).catch((error: Error) =>
        this.deps.logger.error(
          { actionId: dropped.change.job.actionId, err: error.message },
          'recording a dropped change failed; the next sweep retries',
        ),
      );
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
    let count = 0;
    for (const resource of resources) {
      const dropped = await this.deps.budgets.dropFleet(resource, fleetId, because, by);
      for (const entry of dropped) await this.drop(entry);
      count += dropped.length;
      // A dropped change that owned a slot freed it.
      if (dropped.length > 0) await this.promote(resource);
    }
    return count;
  }

  /** A `held_release` job: the held change, decided again now that it owns a slot. */
  async rerun(raw: unknown, handle: Handle): Promise<ActionOutcome | { skipped: string }> {
    const parsed = heldReleaseSchema.safeParse(raw);
    if (!parsed.success) return { skipped: 'invalid held_release job' };
    const claimed = await this.deps.budgets.claimPromoted(parsed.data.resource, parsed.data.actionId);
    if (!claimed) return { skipped: `${parsed.data.actionId} is not a held change with a slot` };
    // Released from a fleet incident that closed since: never run after it closes.
    if ('dropped' in claimed) {
      const { change } = claimed.dropped;
      await this.drop(claimed.dropped);
      await this.after(await this.deps.budgets.release(change.job.incidentId, 'none'));
      return { skipped: `${change.job.actionId}: its fleet incident ${change.fleet} closed; not run` };
    }
    const held = claimed.run;
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

  private async after({ promoted, dropped }: Released): Promise<void> {
    for (const change of promoted)
      await this.deps.actions.add(
        'held_release',
        { resource: change.resource, actionId: change.job.actionId },
        { jobId: `held-release-${change.job.actionId}` },
      );
    for (const entry of dropped) await this.drop(entry);
  }

  private async tellTriage(job: ActionJob): Promise<void> {
    await this.deps.triage.add(
      'triage',
      { incidentId: job.incidentId, trigger: 'held_settled', actionId: job.actionId },
      { jobId: `triage-${job.incidentId}-${job.actionId}-held` },
    );
  }

  /**
   * A held change that will never run: recorded as cancelled with why and its incident settled, then
   * no longer among the dropped changes not yet recorded. Recorded again (this executor died before
   * the end, or the sweep raced it), nothing is written twice: the decision and its audit entry are
   * recorded once, and triage's job is deduplicated by its id.
   */
  private async drop(dropped: DroppedChange): Promise<void> {
    const { change } = dropped;
    await this.deps.recorder.record(
      change.job,
      {
        actionId: change.job.actionId,
        decision: 'cancelled',
        ...cancellation(dropped),
        durationMs: Math.max(0, dropped.at - change.heldAt),
      },
      true,
    );
    await this.tellTriage(change.job);
    await this.deps.budgets.recorded(change.job.actionId);
  }
}

/** Why a dropped change was cancelled, in words and for triage. */
function cancellation({ because, by, first, change }: DroppedChange): {
  reason: string;
  result: HeldCancellation;
} {
  if (because === 'held_too_long')
    return {
      reason: `cancelled: held longer than budgets.holdSeconds waiting for a slot on ${change.resource}; not run`,
      result: { cancelledBecause: because },
    };
  if (because === 'first_region')
    return {
      reason: `cancelled: ${change.job.tool} of ${change.resource} did not fix it in ${first?.region ?? 'the region that went first'} (${first?.actionId ?? '?'}); not run in ${change.region}`,
      result: { cancelledBecause: because, first },
    };
  const fleetId = change.fleet ?? '?';
  return {
    reason:
      because === 'fleet_closed'
        ? `cancelled: fleet incident ${fleetId} was resolved${by ? ` by ${by}` : ''}; not run`
        : `cancelled by ${by ?? 'a human'} from fleet incident ${fleetId}; not run`,
    result: { cancelledBecause: because, fleetId, ...(by ? { by } : {}) },
  };
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
