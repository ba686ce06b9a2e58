import type { LearnedRule, LearnedRules } from '../../shared/learned-rules.js';
import { learnedRuleText, recurrenceText } from '../../shared/notices.js';
import type {
  Outcome,
  OutcomeStore,
  OutcomeSubject,
  PendingOutcome,
  Verdict,
} from '../../shared/outcomes.js';
import { preapprovalFor, preapprovedText } from '../../shared/preapproved.js';
import type { ActionDecisionKind, IncidentSummary } from '../../shared/schemas/incident.js';
import type { ActionJob } from '../../shared/schemas/jobs.js';
import type { Placement } from '../../shared/targets/targets.js';
import type { AuditLog } from './audit.js';
import type { PolicyFile } from './policy.js';

/** How long the maker of a learned rule has to audit it before the sweep does. */
const AUDIT_GRACE_MS = 30_000;

/**
 * What history and the policy say of a fix about to be decided: nothing, refuse it, ask a human
 * first, or it is preapproved (a level-2 incident need not ask; every other rule still applies).
 */
export type Judged = null | { refuse: string } | { ask: string } | { preapproved: string };

/** How a decision that ends an action's life reads as a verdict; executed ones wait for triage's. */
const VERDICT_OF: Partial<Record<ActionDecisionKind, Verdict>> = {
  failed: 'failed',
  unknown_outcome: 'unknown',
  blocked: 'none',
  denied: 'none',
  dry_run: 'none',
  cancelled: 'none',
  held: 'none',
};

/**
 * Judgement across incidents: every fix's verdict is kept per (alertname, resource, target, tool);
 * a fix that keeps coming back is not repeated automatically (recurrence), and one found ineffective
 * too often needs a human for a while (a learned rule, audited when made).
 */
export class Judgement {
  constructor(
    private readonly deps: {
      outcomes: OutcomeStore;
      learned: LearnedRules;
      audit: AuditLog;
      policy: Pick<PolicyFile, 'recurrence' | 'learning' | 'preapproved'>;
    },
  ) {}

  /**
   * Only the agent's own requests are judged: a human's approval is that human's judgement.
   * `incident`: as the decision read it (null: not there).
   */
  async check(
    job: ActionJob,
    placement: Placement,
    incident: Pick<IncidentSummary, 'alertname'> | null,
    now = Date.now(),
  ): Promise<Judged> {
    if (job.approvalId || !incident) return null;
    const subject = subjectOf(job.tool, incident.alertname, placement);
    const { maxRepeats, windowSeconds } = this.deps.policy.recurrence;
    const [recent, rule] = await Promise.all([
      this.deps.outcomes.of(subject, now - windowSeconds * 1000),
      this.deps.learned.inForce(subject),
    ]);
    const earlier = recent.filter(
      (outcome) => outcome.verdict === 'fixed' && outcome.incidentId !== job.incidentId,
    );
    if (new Set(earlier.map((outcome) => outcome.incidentId)).size >= maxRepeats)
      return { refuse: recurrenceText({ ...subject, earlier, now }) };
    const pair = { alertname: incident.alertname, tool: job.tool, resource: subject.resource };
    const preapproved = preapprovalFor(this.deps.policy.preapproved, pair) ? preapprovedText(pair) : null;
    // Tightening beats loosening: history since the human wrote the preapproval contradicts it.
    if (rule)
      return {
        ask: preapproved
          ? `${learnedRuleText(rule)}; it overrides ${preapproved}, which history has since contradicted`
          : learnedRuleText(rule),
      };
    return preapproved ? { preapproved } : null;
  }

  /**
   * Records the decision's verdict (or, for an executed fix, what its verdict will be about).
   * `incident`: as the decision read it (null: not there, nothing to record).
   */
  async decided(
    job: ActionJob,
    placement: Placement,
    incident: Pick<IncidentSummary, 'alertname' | 'createdAt'> | null,
    decision: ActionDecisionKind,
  ): Promise<void> {
    if (!incident) return;
    const subject = subjectOf(job.tool, incident.alertname, placement);
    const verdict = VERDICT_OF[decision];
    if (decision !== 'executed' && !verdict) return;
    // An approved job is the approver's: ApprovalDecisions queues it as `human:<who decided it>`.
    const approvedBy = job.approvalId ? job.requestedBy.replace(/^human:/, '') : undefined;
    const pending: PendingOutcome = {
      ...subject,
      incidentId: job.incidentId,
      alertAt: incident.createdAt,
      ...(approvedBy ? { approvedBy } : {}),
    };
    await Promise.all([
      this.deps.outcomes.notePlace(job.incidentId, subject),
      decision === 'executed'
        ? this.deps.outcomes.holdSubject(job.actionId, pending)
        : verdict && this.deps.outcomes.record(outcome(pending, job.actionId, verdict)),
    ]);
  }

  /** Triage's verdict on an executed fix: kept, and an ineffective one counted towards a learned rule. */
  async verdict(actionId: string, effective: boolean, detail: string | undefined): Promise<void> {
    const pending = await this.deps.outcomes.subject(actionId);
    if (!pending) return;
    const kept = outcome(pending, actionId, effective ? 'fixed' : 'ineffective', detail);
    // Kept and its subject consumed in one script: a verdict retried after a Redis error is kept then,
    // and one heard twice is kept once.
    if (!(await this.deps.outcomes.record(kept, actionId))) return;
    if (effective) return;
    const pair = { alertname: kept.alertname, tool: kept.tool, resource: kept.resource };
    const rule = await this.deps.learned.noteIneffective(
      pair,
      { incidentId: kept.incidentId, actionId, target: kept.target, verdict: 'ineffective', at: kept.at },
      this.deps.policy.learning,
    );
    if (rule) await this.auditMade(rule);
  }

  /**
   * Audits rules made whose audit entry a crash may have cut off (the sweep): those made over
   * `graceMs` ago, so one being audited right now by its maker is left to it.
   */
  async auditUnaudited(now = Date.now(), graceMs = AUDIT_GRACE_MS): Promise<number> {
    const late = (await this.deps.learned.unaudited()).filter(
      (rule) => Date.parse(rule.madeAt) <= now - graceMs,
    );
    for (const rule of late) await this.auditMade(rule);
    return late.length;
  }

  private async auditMade(rule: LearnedRule): Promise<void> {
    await this.deps.audit.append({
      at: rule.madeAt,
      event: 'learned_rule_made',
      ruleId: rule.id,
      alertname: rule.alertname,
      tool: rule.tool,
      resource: rule.resource,
      evidence: rule.evidence.map((entry) => entry.incidentId),
      expiresAt: rule.expiresAt,
    });
    await this.deps.learned.audited(rule.id);
  }
}

function subjectOf(tool: string, alertname: string, placement: Placement): OutcomeSubject {
  return { alertname, tool, target: placement.target, resource: placement.resource ?? placement.host };
}

function outcome(pending: PendingOutcome, actionId: string, verdict: Verdict, detail?: string): Outcome {
  const at = new Date();
  return {
    ...pending,
    actionId,
    verdict,
    at: at.toISOString(),
    seconds: Math.max(0, (at.getTime() - Date.parse(pending.alertAt)) / 1000),
    ...(detail ? { detail: detail.slice(0, 500) } : {}),
  };
}
