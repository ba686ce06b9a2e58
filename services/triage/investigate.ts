import type { Queue } from 'bullmq';
import { type IncidentStore, statusChanged } from '../../shared/incidents.js';
import type { Logger } from '../../shared/logger.js';
import {
  agentStopReason,
  diagnosisNotice,
  type EscalationReason,
  escalatedNotice,
  escalationText,
  fixedNotice,
  fixedSummaryText,
  stoppedByFirstRegionNotice,
  triageAccountText,
  triageFailedNotice,
  verificationProgress,
  verifyingNotice,
} from '../../shared/notices.js';
import type { NotificationOutbox } from '../../shared/outbox.js';
import { triageFollowUpJobId } from '../../shared/queues.js';
import type { RedisConnection } from '../../shared/redis.js';
import type { ActionRecord, IncidentStatus, IncidentSummary } from '../../shared/schemas/incident.js';
import type { NotificationJob, TriageJob, Verification } from '../../shared/schemas/jobs.js';
import type { ActionClient } from './actions.js';
import { isPending } from './job-states.js';
import { type ChatModel, LlmUnavailableError } from './llm/model.js';
import type { Planner, PlanResult } from './planners/types.js';
import type { Toolbox } from './tools/toolbox.js';
import { triedFixes } from './tried-fixes.js';
import type { Verifier } from './verify.js';

/** The executor's words for what a dry-run action would have done. */
function wouldHave(action: { tool: string; result?: unknown }): string {
  const operation = (action.result as { operation?: unknown } | undefined)?.operation;
  return typeof operation === 'string' ? operation : action.tool;
}

export interface InvestigatorDeps {
  redis: RedisConnection;
  backlogKey: string;
  store: IncidentStore;
  /** Transition notices go through it, so a crash right after a transition cannot lose one. */
  outbox: NotificationOutbox;
  actions: ActionClient;
  toolbox: Toolbox;
  verifier: Verifier;
  /** Re-checks of a fix are delayed jobs on this queue. */
  triage: Queue;
  verifyWindowMs: number;
  verifyIntervalMs: number;
  llm: Planner;
  runbook: Planner;
  model: ChatModel;
  mode: 'auto' | 'llm' | 'runbook';
  logger: Logger;
  /** Read-only context worth gathering before escalating a level-3 incident. */
  hasLogSource: boolean;
  hasPrometheus: boolean;
}

type ParsedTriageJob = Required<Pick<TriageJob, 'incidentId' | 'trigger'>> & {
  round?: string | undefined;
  actionId?: string | undefined;
  verification?: Verification | undefined;
};

/** Re-checks wait behind every new incident (whose priorities are 1-10). */
const VERIFY_PRIORITY = 100;

const BY = 'triage';

/** Drives one incident to an outcome: fixed and verified, awaiting a human, or escalated. */
export class Investigator {
  constructor(private readonly deps: InvestigatorDeps) {}

  async handle(job: ParsedTriageJob, signal: AbortSignal): Promise<string> {
    const { store } = this.deps;
    if (job.trigger === 'alert') await this.deps.redis.srem(this.deps.backlogKey, job.incidentId);
    const incident = await store.getSummary(job.incidentId);
    if (!incident) return 'skipped: no such incident';
    // A fix still gets its verdict when Alertmanager resolved the incident first: the breaker learns it worked.
    if (job.trigger === 'verify') return this.continueVerification(incident, job.verification);
    if (incident.status === 'resolved' || incident.status === 'failed') return `skipped: ${incident.status}`;
    if (job.trigger === 'approval_executed') return this.afterApproval(incident, job.actionId);
    if (job.trigger === 'held_settled') return this.afterHeld(incident, job.actionId);
    // Triage died while a fix was being verified, before its next re-check was queued: verify again.
    if (incident.status === 'verifying') return this.resumeVerification(incident, job.round ?? 'alert');
    if (incident.status !== 'open' && incident.status !== 'diagnosing') return `skipped: ${incident.status}`;

    // A re-run a human asked for is a round of its own: its notices are not the first round's.
    const round = job.round ?? 'alert';
    const previous = await this.transition(
      incident,
      'diagnosing',
      { from: ['open', 'diagnosing'], message: `investigating (level ${incident.level})` },
      diagnosisNotice(incident, round),
    );
    if (previous === null) return 'skipped: status changed';
    if (incident.level === 3 || incident.storm) return this.escalateWithoutActing(incident, round);

    // An earlier attempt (crashed worker, stalled job, retry) may already have changed something:
    // verify that instead of planning again, so no action runs twice.
    const earlier = previous === 'diagnosing' ? await this.earlierFixes(incident.id) : [];
    if (earlier.length > 0) {
      return this.verifyAndClose(
        incident,
        earlier.map((a) => a.id),
        triageAccountText({ kind: 'resumed', tools: earlier.map((a) => a.tool) }),
        round,
      );
    }

    const result = await this.plan(incident, signal);
    return this.conclude(incident, result, round);
  }

  private async earlierFixes(incidentId: string): Promise<ActionRecord[]> {
    const incident = await this.deps.store.get(incidentId);
    return (incident?.actions ?? []).filter(
      (a) =>
        a.requestedBy === 'agent' && a.tool !== 'request_human_confirmation' && a.decision === 'executed',
    );
  }

  private async resumeVerification(incident: IncidentSummary, round: string): Promise<string> {
    // Its next re-check is still queued: that one carries the verification on.
    const queued = await this.deps.store.getVerifyJob(incident.id);
    if (queued && isPending(await this.deps.triage.getJobState(queued)))
      return 'verifying: its re-check is queued';
    const actionIds =
      incident.verification?.actionIds ?? (await this.earlierFixes(incident.id)).map((a) => a.id);
    if (actionIds.length === 0) return this.escalate(incident, { kind: 'verified_fix_missing' }, round);
    const tools = await Promise.all(
      actionIds.map(async (id) => (await this.deps.store.getAction(incident.id, id))?.tool ?? id),
    );
    return this.verifyAndClose(
      incident,
      actionIds,
      triageAccountText({ kind: 'resumed_verifying', tools }),
      round,
    );
  }

  private async plan(incident: IncidentSummary, signal: AbortSignal): Promise<PlanResult> {
    const { mode, model, llm, runbook, store } = this.deps;
    const context = { incident, signal, halted: () => this.haltReason(incident.id) };
    if (mode === 'runbook') return runbook.plan(context);
    if (mode === 'auto' && !(await model.reachable())) {
      await store.appendTimeline(incident.id, {
        type: 'summary',
        by: BY,
        planner: 'runbook',
        message: `model ${model.name} is not reachable; using the runbook planner`,
      });
      return runbook.plan(context);
    }
    try {
      return await llm.plan(context);
    } catch (error) {
      if (!(error instanceof LlmUnavailableError)) throw error;
      this.deps.logger.warn(
        { incidentId: incident.id, err: error.message },
        'model failed; falling back to runbook',
      );
      await store.appendTimeline(incident.id, {
        type: 'error',
        by: BY,
        planner: 'runbook',
        message: `model failed mid-incident (${error.message}); falling back to the runbook`,
      });
      return runbook.plan(context);
    }
  }

  /** Why the agent must stop (resolved, failed, owned by a human), read from the incident as it is now. */
  private async haltReason(incidentId: string): Promise<string | null> {
    return agentStopReason(await this.deps.store.getSummary(incidentId));
  }

  private async conclude(incident: IncidentSummary, result: PlanResult, round: string): Promise<string> {
    const { store } = this.deps;
    // A human's word: no transition and no notice of triage's own; the human's already said it.
    if (result.kind === 'stopped') {
      await store.appendTimeline(incident.id, {
        type: 'summary',
        by: BY,
        outcome: 'stopped',
        message: `stopped investigating: ${result.summary}; no further action is requested`,
      });
      return `stopped: ${result.summary}`;
    }
    await store.appendTimeline(incident.id, {
      type: 'summary',
      by: BY,
      outcome: result.kind,
      message: result.summary,
    });
    if (result.kind === 'awaiting_approval') return 'awaiting_approval';
    const fixes = result.calls.flatMap((call) =>
      call.tool !== 'request_human_confirmation' &&
      call.outcome &&
      (call.outcome.decision === 'executed' || call.outcome.decision === 'dry_run')
        ? [{ ...call.outcome, tool: call.tool }]
        : [],
    );
    const executed = fixes.filter((f) => f.decision === 'executed');
    const held = result.calls.filter((call) => call.outcome?.decision === 'held');
    if (executed.length === 0 && fixes.length === 0 && held.length > 0)
      return this.waitForHeld(incident, held[0]?.outcome?.reason);
    if (executed.length === 0) {
      if (fixes.length > 0) return this.reportDryRun(incident, fixes.map(wouldHave), result.summary, round);
      const decided = (decision: string) =>
        result.calls.flatMap((call) =>
          call.outcome?.decision === decision ? [{ tool: call.tool, reason: call.outcome.reason }] : [],
        );
      const unknown = decided('unknown_outcome');
      if (unknown.length > 0)
        return this.escalate(
          incident,
          { kind: 'outcome_unknown', calls: unknown, summary: result.summary },
          round,
        );
      return this.escalate(
        incident,
        {
          kind: 'no_fix',
          summary: result.summary,
          exhausted: result.kind === 'exhausted',
          failed: decided('failed'),
        },
        round,
      );
    }
    return this.verifyAndClose(
      incident,
      executed.map((f) => f.actionId),
      result.summary,
      round,
    );
  }

  private async afterApproval(incident: IncidentSummary, actionId: string | undefined): Promise<string> {
    const record = actionId ? await this.deps.store.getAction(incident.id, actionId) : null;
    if (!record || (record.decision !== 'executed' && record.decision !== 'dry_run')) {
      return this.escalate(
        incident,
        { kind: 'approved_not_run', actionId, decision: record?.decision, reason: record?.reason },
        actionId ?? 'approval',
      );
    }
    const approved = (ran: boolean) => triageAccountText({ kind: 'approved', tool: record.tool, ran });
    if (record.decision === 'dry_run')
      return this.reportDryRun(incident, [wouldHave(record)], approved(false), record.id);
    return this.verifyAndClose(incident, [record.id], approved(true), record.id);
  }

  /** A fix held by a change budget: the executor runs it by itself and tells triage (`held_settled`). */
  private async waitForHeld(incident: IncidentSummary, reason: string | undefined): Promise<string> {
    await this.deps.store.appendTimeline(incident.id, {
      type: 'summary',
      by: BY,
      held: true,
      message: `waiting: ${reason ?? 'held by a change budget'}`,
    });
    return 'held';
  }

  private async afterHeld(incident: IncidentSummary, actionId: string | undefined): Promise<string> {
    const record = actionId ? await this.deps.store.getAction(incident.id, actionId) : null;
    if (record?.decision === 'executed')
      return this.verifyAndClose(
        incident,
        [record.id],
        `Held ${record.tool} ran when its slot freed.`,
        record.id,
      );
    if (record?.decision === 'dry_run')
      return this.reportDryRun(incident, [wouldHave(record)], `Held ${record.tool}.`, record.id);
    const reason: EscalationReason = {
      kind: 'held_not_run',
      tool: record?.tool ?? 'change',
      decision: record?.decision ?? 'no record',
      reason: record?.reason,
    };
    const round = actionId ?? 'held';
    // The region that went first, or the fleet incident, pages once for all; the incidents it stopped
    // are told, not paged.
    const result = record?.result as { cancelledBecause?: string; fleetId?: string; by?: string } | undefined;
    const fleet = fleetHeldText(result);
    if (result?.cancelledBecause !== 'first_region' && !fleet) return this.escalate(incident, reason, round);
    const told: EscalationReason = fleet ? { kind: 'fleet_held', text: fleet } : reason;
    const text = escalationText(told);
    await this.transition(
      incident,
      'escalated',
      { from: ['open', 'diagnosing', 'verifying', 'awaiting_approval'], message: text, summary: text },
      stoppedByFirstRegionNotice(incident, told, round),
    );
    return 'escalated';
  }

  /**
   * Dry-run: the fixes were allowed but never ran, so there is nothing to verify and nothing for
   * the breaker to count. The incident says so plainly and goes to a human.
   */
  private async reportDryRun(
    incident: IncidentSummary,
    operations: string[],
    summary: string,
    round: string,
  ): Promise<string> {
    await this.deps.store.appendTimeline(incident.id, {
      type: 'summary',
      by: BY,
      dryRun: true,
      message: `dry-run: nothing was changed, so there is nothing to verify`,
    });
    return this.escalate(incident, { kind: 'dry_run', operations, summary }, round);
  }

  /**
   * Checks a fix once now; if its alerts have not cleared yet and the window allows, the re-checks
   * go on in delayed `verify` jobs, so no worker waits (a level-3 incident is never stuck behind
   * fixes being verified).
   */
  private async verifyAndClose(
    incident: IncidentSummary,
    /** Executed actions: their verdict feeds the executor's breaker. */
    fixActionIds: string[],
    summary: string,
    round: string,
  ): Promise<string> {
    const verification: Verification = {
      actionIds: fixActionIds.slice(0, 50),
      summary: summary.slice(0, 4_000),
      round,
      deadline: new Date(Date.now() + this.deps.verifyWindowMs).toISOString(),
      attempt: 1,
      alerts: await this.deps.verifier.firingAlerts(incident.id),
    };
    return this.recheck(incident, verification);
  }

  /**
   * One re-check: settle on a verdict, or schedule the next one. The first that does not settle
   * makes the incident `verifying`, with its deadline and interval for everyone to see.
   */
  private async recheck(incident: IncidentSummary, verification: Verification): Promise<string> {
    const verdict = await this.deps.verifier.check(incident, verification.alerts);
    if (verdict.fixed || Date.now() >= Date.parse(verification.deadline))
      return this.settle(incident, verification, verdict);
    const next = { ...verification, attempt: verification.attempt + 1 };
    // Each verification (its deadline) has its own chain of re-checks; a retried one is the same job.
    const chain = `${verification.round}-${Date.parse(verification.deadline)}`;
    const jobId = triageFollowUpJobId(incident.id, `verify-${chain}-${next.attempt}`);
    await this.deps.triage.add(
      'verify',
      { incidentId: incident.id, trigger: 'verify', verification: next },
      { jobId, delay: this.deps.verifyIntervalMs, priority: VERIFY_PRIORITY },
    );
    await this.deps.store.setVerifyJob(incident.id, jobId);
    if (verification.attempt === 1) await this.startVerifying(incident, verification);
    return 'verifying';
  }

  private async startVerifying(incident: IncidentSummary, verification: Verification): Promise<void> {
    const state = {
      actionIds: verification.actionIds,
      since: new Date().toISOString(),
      until: verification.deadline,
      everySeconds: this.deps.verifyIntervalMs / 1000,
    };
    await this.deps.store.setVerification(incident.id, state);
    const fixes = await Promise.all(
      state.actionIds.map(async (id) => (await this.deps.store.getAction(incident.id, id))?.tool ?? id),
    );
    await this.transition(
      incident,
      'verifying',
      {
        from: ['open', 'diagnosing', 'awaiting_approval', 'verifying'],
        message: `verifying ${fixes.join(', ')}: ${verificationProgress(state)}`,
      },
      verifyingNotice(incident, fixes.join(', '), state, verification.round),
    );
  }

  private async continueVerification(incident: IncidentSummary, verification: Verification | undefined) {
    if (!verification) return 'skipped: verify job without a verification';
    if (!['verifying', 'diagnosing', 'awaiting_approval', 'resolved'].includes(incident.status))
      return `skipped: ${incident.status}`;
    return this.recheck(incident, verification);
  }

  private async settle(
    incident: IncidentSummary,
    verification: Verification,
    verdict: { fixed: boolean; detail: string },
  ): Promise<string> {
    const { round, summary } = verification;
    for (const actionId of verification.actionIds) {
      await this.deps.actions.feedback(incident.id, actionId, verdict.fixed, verdict.detail);
    }
    await this.deps.store.appendTimeline(incident.id, {
      type: 'summary',
      by: BY,
      verified: verdict.fixed,
      message: `verification: ${verdict.detail}`,
    });
    const tried = await triedFixes(this.deps.store, incident.id, verification.actionIds);
    if (!verdict.fixed)
      return this.escalate(incident, { kind: 'not_cleared', detail: verdict.detail, summary, tried }, round);
    const fixed = fixedSummaryText(summary, tried);
    await this.transition(
      incident,
      'resolved',
      {
        from: ['open', 'diagnosing', 'verifying', 'awaiting_approval', 'escalated'],
        message: `fixed and verified: ${verdict.detail}`,
        summary: fixed,
      },
      fixedNotice(incident, fixed, verdict.detail, round),
    );
    return 'resolved';
  }

  private async escalateWithoutActing(incident: IncidentSummary, round: string): Promise<string> {
    const host = incident.instance.replace(/:\d+$/, '');
    if (this.deps.hasPrometheus && host) {
      await this.deps.toolbox.call(incident, 'check_system_resources', { host });
    }
    if (this.deps.hasLogSource && incident.service) {
      await this.deps.toolbox.call(incident, 'get_service_logs', { service: incident.service, lines: 50 });
    }
    return this.escalate(incident, { kind: 'no_change_allowed', storm: incident.storm }, round);
  }

  private async escalate(
    incident: IncidentSummary,
    reason: EscalationReason,
    round: string,
  ): Promise<string> {
    const text = escalationText(reason);
    await this.transition(
      incident,
      'escalated',
      {
        from: ['open', 'diagnosing', 'verifying', 'awaiting_approval'],
        message: text.slice(0, 2_000),
        summary: text,
      },
      escalatedNotice(incident, reason, round),
    );
    return 'escalated';
  }

  /** Last attempt failed: the incident must still reach a human. */
  async markFailed(incidentId: string, error: Error): Promise<void> {
    const incident = await this.deps.store.getSummary(incidentId);
    if (!incident) return;
    await this.transition(
      incident,
      'failed',
      {
        from: ['open', 'diagnosing', 'verifying'],
        message: `triage failed: ${error.message}`.slice(0, 2_000),
      },
      triageFailedNotice(incident, error.message),
    );
  }

  /** Changes the status and, if it changed, announces it (the notice is recorded with the change). */
  private async transition(
    incident: IncidentSummary,
    status: IncidentStatus,
    options: { from: IncidentStatus[]; message: string; summary?: string },
    notice: NotificationJob,
  ): Promise<IncidentStatus | null> {
    const previous = await this.deps.store.setStatus(incident.id, status, BY, {
      ...options,
      notice: { source: this.deps.outbox.source, job: notice },
    });
    if (statusChanged(previous, status)) await this.deps.outbox.deliver(notice);
    return previous;
  }
}

/** "not run: fleet incident inc_1 was resolved by alice", or null when no fleet incident dropped it. */
function fleetHeldText(result: { cancelledBecause?: string; fleetId?: string; by?: string } | undefined) {
  if (result?.cancelledBecause === 'fleet_closed')
    return `not run: fleet incident ${result.fleetId} was resolved${result.by ? ` by ${result.by}` : ''}`;
  if (result?.cancelledBecause === 'fleet_cancelled')
    return `cancelled by ${result.by ?? 'a human'} from fleet incident ${result.fleetId}`;
  return null;
}
