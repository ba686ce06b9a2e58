import type { Queue } from 'bullmq';
import { z } from 'zod';
import type { IncidentStore } from '../../shared/incidents.js';
import type { ActionJob, ActionOutcome, TriageJob } from '../../shared/schemas/jobs.js';
import type { Placement } from '../../shared/targets/drivers/placement.js';
import type { ChangeBudgets, HeldChange, Released, Verdict } from './budgets.js';
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
  | { cancelledBecause: 'first_region'; first: HeldChange['first'] };

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
      incidents: IncidentStore;
      /** Where released changes are queued to run (the executor's own `held_release` jobs). */
      actions: Queue;
      triage: Queue<TriageJob>;
      recorder: DecisionRecorder;
    },
  ) {}

  /** Changes deciding in this process that took their incident's slot: theirs to give back. */
  private readonly taking = new Set<string>();

  /** A slot for the change, or the `held` decision that says what holds it. */
  async admit(job: ActionJob, placement: Placement): Promise<{ decision: 'held'; reason: string } | null> {
    const summary = await this.deps.incidents.getSummary(job.incidentId);
    const taken = await this.deps.budgets.take({
      job,
      queue: job.requestedBy === 'agent' ? 'agent' : 'human',
      resource: placement.resource ?? placement.host,
      region: placement.region,
      priority: summary?.priority ?? 10,
    });
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
    for (const resource of await this.deps.budgets.resourcesHolding())
      await this.after(await this.deps.budgets.sweep(resource));
  }

  /** A `held_release` job: the held change, decided again now that it owns a slot. */
  async rerun(raw: unknown, handle: Handle): Promise<ActionOutcome | { skipped: string }> {
    const parsed = heldReleaseSchema.safeParse(raw);
    if (!parsed.success) return { skipped: 'invalid held_release job' };
    const held = await this.deps.budgets.claimPromoted(parsed.data.resource, parsed.data.actionId);
    if (!held || !(await this.deps.claims.reopenHeld(held.job.actionId)))
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

  private async after({ promoted, expired, cancelled }: Released): Promise<void> {
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
