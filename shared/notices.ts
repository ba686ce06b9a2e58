import { canonicalJson } from './canonical.js';
import { describeIncident } from './describe-incident.js';
import type { Approval } from './schemas/approval.js';
import type { IncidentSummary, StateBefore } from './schemas/incident.js';
import type {
  Channel,
  IncidentCommand,
  NotificationEvent,
  NotificationJob,
  NotificationSeverity,
  Risk,
} from './schemas/jobs.js';

/**
 * What people are told. Every notice Hermes sends is worded here, from the facts its sender passes
 * (why triage escalates, what an approval is for, how the breaker opened, what a Slack click did);
 * scripts that record a notice only fill in facts (an id, a count), and the notifier only lays a
 * notice out per channel (services/notifier/format.ts). Each notice's eventId makes sending it twice
 * a no-op; how a notice survives a crash is in shared/outbox.ts.
 */

type Severity = NotificationSeverity;

function severityOf(alertSeverity: string): Severity {
  if (alertSeverity === 'critical') return 'critical';
  return alertSeverity === 'warning' ? 'warning' : 'info';
}

/** A new incident, or the storm incident that coalesces alerts while too many arrive. */
export function openedNotice(opened: {
  incidentId: string;
  storm: boolean;
  level: number;
  severity: string;
  alertname: string;
}): NotificationJob {
  const { incidentId, storm, level } = opened;
  if (storm)
    return {
      eventId: `storm-${incidentId}`,
      incidentId,
      event: 'storm_opened',
      severity: 'critical',
      title: 'Alert storm: alerts are being coalesced',
      text: 'Too many incidents opened at once. Further alerts join this storm incident; critical ones are still investigated.',
    };
  return {
    eventId: `opened-${incidentId}`,
    incidentId,
    event: 'incident_opened',
    severity: level === 3 ? 'critical' : severityOf(opened.severity),
    title: `New level ${level} incident: ${opened.alertname}`,
    text:
      level === 3
        ? 'This incident is level 3: the agent will not change anything. Please take over.'
        : 'Hermes is investigating.',
  };
}

/**
 * A fleet incident opened (shared/fleet.ts): one page for every alert of one cause. Ingest's detection
 * script records it as it opens the fleet, filling in the facts `%{id}`, `%{alertname}`,
 * `%{resource}`, `%{regions}`, `%{regionCount}` and `%{targets}`.
 */
export const FLEET_OPENED_NOTICE = {
  eventId: 'fleet-opened-%{id}',
  incidentId: '%{id}',
  event: 'fleet_opened',
  severity: 'critical',
  title: 'Fleet incident: %{alertname} on %{resource} in %{regionCount} regions, %{targets} targets',
  text:
    '%{alertname} fires for %{resource} in %{regions} on %{targets} targets: one cause, one incident, one page. ' +
    'Every automated change to %{resource} is held until a human releases a region or cancels the held changes.',
} as const satisfies NotificationJob;

export function resolvedEventId(incidentId: string): string {
  return `resolved-${incidentId}`;
}

/**
 * All alerts of an incident resolved. Ingest's intake script records it with the resolution, so it
 * gets this notice made for the id '' and appends the incident's id to its event id.
 */
export function resolvedNotice(incidentId: string): NotificationJob {
  return {
    eventId: resolvedEventId(incidentId),
    incidentId,
    event: 'resolved',
    severity: 'info',
    title: 'Resolved',
    text: 'All alerts of this incident have resolved.',
  };
}

/** An incident moved (diagnosis, fixed, escalated, failed): `text` says what triage found. */
function transitionNotice(
  incident: IncidentSummary,
  event: NotificationEvent,
  severity: Severity,
  text: string,
  round: string,
): NotificationJob {
  return {
    eventId: `${incident.id}-${event}-${round}`.slice(0, 100),
    incidentId: incident.id,
    event,
    severity,
    title: `${describeIncident(incident)}: ${event.replace('_', ' ')}`,
    text: text.slice(0, 10_000),
    details: { level: incident.level, service: incident.service, severity: incident.severity },
  };
}

/** Triage started on an incident. */
export function diagnosisNotice(incident: IncidentSummary, round: string): NotificationJob {
  return transitionNotice(
    incident,
    'diagnosis',
    'info',
    `Hermes is investigating ${describeIncident(incident)} (level ${incident.level}).`,
    round,
  );
}

/** What triage did about an incident, as it is verified and announced once verified. */
export type TriageAccount =
  /** The planner's own summary of what it found and did. */
  | { kind: 'planned'; summary: string }
  /** An interrupted attempt had already run these fixes: they are verified, not run again. */
  | { kind: 'resumed'; tools: string[] }
  /** Triage died while these fixes were being verified: their verification starts again. */
  | { kind: 'resumed_verifying'; tools: string[] }
  /** A human approved `tool`; `ran` is false when it was only a dry run. */
  | { kind: 'approved'; tool: string; ran: boolean };

export function triageAccountText(account: TriageAccount): string {
  switch (account.kind) {
    case 'planned':
      return account.summary;
    case 'resumed':
      return `Resumed after an interrupted attempt that had already run ${account.tools.join(', ')}.`;
    case 'resumed_verifying':
      return `Resumed verifying ${account.tools.join(', ')} after an interrupted attempt.`;
    case 'approved':
      return account.ran ? `Approved ${account.tool} ran.` : `Approved ${account.tool}.`;
  }
}

/** `12:05:40 UTC` from an ISO time. */
function clockTime(iso: string): string {
  return `${iso.slice(11, 19)} UTC`;
}

/** What a `verifying` incident is doing, in the words every client shows. */
export function verificationProgress(verification: { until: string; everySeconds: number }): string {
  return `re-checking every ${verification.everySeconds} s until ${clockTime(verification.until)}`;
}

/** A fix ran and its alerts have not cleared yet: triage keeps re-checking until its deadline. */
export function verifyingNotice(
  incident: IncidentSummary,
  fix: string,
  verification: { until: string; everySeconds: number },
  round: string,
): NotificationJob {
  return transitionNotice(
    incident,
    'verifying',
    'info',
    `${fix} ran; the alert has not cleared yet. Hermes is ${verificationProgress(verification)}.`,
    round,
  );
}

/** A fix ran and its verification passed: what was done (`summary`) and how it was verified. */
export function fixedNotice(
  incident: IncidentSummary,
  summary: string,
  verified: string,
  round: string,
): NotificationJob {
  return transitionNotice(incident, 'fixed', 'info', `${summary}\nVerified: ${verified}.`, round);
}

/** Why triage hands an incident to a human, as facts; `escalationText` words them. */
export type EscalationReason =
  /** Level 3 or a storm: no automated change is allowed at all. */
  | { kind: 'no_change_allowed'; storm: boolean }
  /** Fixes were asked for, but the executor never said whether they ran. */
  | { kind: 'outcome_unknown'; calls: { tool: string; reason: string | undefined }[]; summary: string }
  /** Nothing was applied: the planner found no fix, or gave up (`exhausted`); `failed` are the fixes that failed. */
  | {
      kind: 'no_fix';
      summary: string;
      exhausted: boolean;
      failed: { tool: string; reason: string | undefined }[];
    }
  /** A human approved an action that then did not run (`decision` undefined: no record of it). */
  | {
      kind: 'approved_not_run';
      actionId: string | undefined;
      decision: string | undefined;
      reason: string | undefined;
    }
  /** A change held by a change budget will never run (cancelled, or waited too long). */
  | { kind: 'held_not_run'; tool: string; decision: string; reason: string | undefined }
  /** A change a fleet incident held was dropped (it closed, or a human cancelled): `text` says which. */
  | { kind: 'fleet_held'; text: string }
  /** Dry-run: the fixes were allowed, and these operations would have run. */
  | { kind: 'dry_run'; operations: string[]; summary: string }
  /** A fix ran but its verification failed; `tried`: the fixes, with the state each found before. */
  | { kind: 'not_cleared'; detail: string; summary: string; tried?: TriedFix[] }
  /** The incident was being verified, but no executed fix is on record to verify. */
  | { kind: 'verified_fix_missing' };

/** A fix that ran, and the target's state right before it (restart count, last exit, ERROR lines). */
export type TriedFix = { operation: string; before: StateBefore | undefined };

const RUNNING_WORDS = new Set(['running', 'active', 'Running']);

/**
 * The strongest evidence a target's state shows, in one line: "CrashLoopBackOff, OOMKilled, exit 137,
 * 10 restarts; last error: "…"". Null when it shows nothing wrong.
 */
export function stateEvidence(before: StateBefore): string | null {
  if (before.unreadable) return `its state could not be read (${before.unreadable})`;
  const facts = [
    ...(before.status && !RUNNING_WORDS.has(before.status) ? [before.status] : []),
    ...(before.oomKilled ? ['OOMKilled'] : []),
    ...(before.exitCode !== null ? [`exit ${before.exitCode}`] : []),
    ...(before.restartCount ? [`${before.restartCount} restart${before.restartCount === 1 ? '' : 's'}`] : []),
  ];
  const error = before.errorLines.at(-1);
  const last = error ? `last error: "${error.trim().slice(0, 200)}"` : null;
  if (facts.length === 0) return last;
  return last ? `${facts.join(', ')}; ${last}` : facts.join(', ');
}

/** "Before restart X: <evidence>." for each fix whose state showed something; empty when none did. */
function evidenceText(tried: readonly TriedFix[]): string {
  return tried
    .flatMap(({ operation, before }) => {
      const evidence = before && stateEvidence(before);
      return evidence ? [`Before ${operation}: ${evidence}.`] : [];
    })
    .join(' ');
}

/** What a human should look at after a fix that did not help, led by the strongest evidence. */
function nextStepText(tried: readonly TriedFix[]): string {
  const states = tried.flatMap(({ before }) => (before ? [before] : []));
  if (states.some((state) => state.oomKilled))
    return 'Next: look at the memory limit and what fills it — it was OOM-killed, and a restart brings back the same limit.';
  if (states.some((state) => state.errorLines.length > 0))
    return 'Next: look at what the last error names (a dependency, configuration, a file), then at the logs since the fix.';
  if (states.some((state) => state.unreadable))
    return "Next: read the target's state and logs by hand: Hermes could not before the fix.";
  if (states.some((state) => state.restartCount || (state.exitCode !== null && state.exitCode !== 0)))
    return 'Next: look in its logs for why it exits: a restart does not change that.';
  return "Next: look at the target's logs and state since the fix.";
}

/** The summary of a fixed incident, led by the evidence of what was wrong before the fix. */
export function fixedSummaryText(summary: string, tried: readonly TriedFix[]): string {
  const evidence = evidenceText(tried);
  return evidence ? `${evidence} ${summary}`.trim() : summary;
}

/** Triage's account of what it found and did, for the escalation notice and the incident's timeline. */
export function escalationText(reason: EscalationReason): string {
  switch (reason.kind) {
    case 'no_change_allowed':
      return `This is ${reason.storm ? 'an alert storm' : 'a level-3 incident'}: no automated change is allowed; a human must take over.`;
    case 'outcome_unknown':
      return `Hermes cannot tell whether ${reason.calls
        .map((call) => `${call.tool} (${call.reason ?? 'no answer'})`)
        .join('; ')} ran. Check the target before acting. ${reason.summary}`;
    case 'no_fix': {
      const why = reason.exhausted ? `stopped: ${reason.summary}` : reason.summary;
      // The human message must carry each failure's cause (the command's stderr, the API's error),
      // unless the summary already says it.
      const causes = reason.failed.flatMap((call) =>
        call.reason && !why.includes(call.reason) ? [`\n${call.tool} failed: ${call.reason}`] : [],
      );
      return `No fix was applied. ${why}${causes.join('')}`;
    }
    case 'approved_not_run':
      return `The approved action ${reason.actionId ?? '(unknown)'} did not run (${reason.decision ?? 'no record'}${
        reason.reason ? `: ${reason.reason}` : ''
      }).`;
    case 'held_not_run':
      return `The held ${reason.tool} did not run (${reason.decision}${reason.reason ? `: ${reason.reason}` : ''}). A human must fix this.`;
    case 'fleet_held':
      return `${reason.text}. The fleet incident paged for all of its targets; this incident resolves when its alerts do.`;
    case 'dry_run':
      return `Dry-run: nothing was changed. With EXECUTION_MODE=live Hermes would have run: ${reason.operations.join('; ')}. A human must fix this. ${reason.summary}`;
    case 'not_cleared': {
      const tried = reason.tried ?? [];
      if (tried.length === 0) return `The fix did not clear the alert (${reason.detail}). ${reason.summary}`;
      return [
        `The fix did not clear the alert (${reason.detail}).`,
        evidenceText(tried),
        `Tried: ${tried.map((fix) => fix.operation).join('; ')} — it ran, and the alert still fires: doing it again will not help.`,
        nextStepText(tried),
        reason.summary,
      ]
        .filter(Boolean)
        .join(' ');
    }
    case 'verified_fix_missing':
      return 'A fix was being verified, but no executed fix is on record.';
  }
}

/** A human must take over; critical for level 3, storms and critical alerts. */
export function escalatedNotice(
  incident: IncidentSummary,
  reason: EscalationReason,
  round: string,
): NotificationJob {
  const critical = incident.level === 3 || incident.storm || incident.severity === 'critical';
  return transitionNotice(
    incident,
    'escalated',
    critical ? 'critical' : 'warning',
    escalationText(reason),
    round,
  );
}

/**
 * Escalated because the same fix did not work in the region that went first: that region's own
 * escalation pages once with the evidence, so this one is told, not paged.
 */
export function stoppedByFirstRegionNotice(
  incident: IncidentSummary,
  reason: EscalationReason,
  round: string,
): NotificationJob {
  return transitionNotice(incident, 'message', 'warning', escalationText(reason), round);
}

/** Triage gave up on the incident (its last attempt failed, or its job was lost). */
export function triageFailedNotice(incident: IncidentSummary, error: string): NotificationJob {
  return transitionNotice(
    incident,
    'failed',
    'critical',
    `Triage could not investigate this incident: ${error}. A human must take over.`,
    'alert',
  );
}

/** The agent's own words (send_notification), marked as the agent's. */
export function agentMessageNotice(
  incident: IncidentSummary,
  message: { severity: Severity; channel: Channel; text: string },
): Omit<NotificationJob, 'eventId'> {
  return {
    incidentId: incident.id,
    event: 'message',
    severity: message.severity,
    channels: [message.channel],
    title: `${describeIncident(incident)}: agent message`,
    text: message.text,
  };
}

/**
 * What an approval request is for (`description`) and why it needs a human (`reason`): stored with
 * the approval and shown in its notice. The executor's own words for the operation come first; the
 * requester's (`requested`, `givenReason`) are kept but never replace them.
 */
export function approvalRequestWording(request: {
  tool: string;
  args: Record<string, unknown>;
  operation: string | undefined;
  requested: string | undefined;
  givenReason: string | undefined;
  /** The agent's question (request_human_confirmation), not an action. */
  question: boolean;
  tier: string;
  level: number;
}): { description: string; reason: string } {
  const { operation, requested } = request;
  const description = operation
    ? `${operation}${requested ? `\nRequested as: ${requested}` : ''}`.slice(0, 2_000)
    : (requested ?? `${request.tool} ${canonicalJson(request.args)}`.slice(0, 2_000));
  const reason =
    request.givenReason ??
    (request.question
      ? 'the agent asks for a human decision'
      : `${request.tier} tool on a level-${request.level} incident needs a human approval`);
  return { description, reason };
}

/** A human is asked to approve an action, or to answer the agent's question. */
export function approvalRequestedNotice(request: {
  approvalId: string;
  incidentId: string;
  actionId: string;
  tool: string;
  args: Record<string, unknown>;
  /** What would run where (the executor's words), if the request is an action. */
  operation: string | undefined;
  /** The agent's question, if it asked one. */
  question: string | undefined;
  description: string;
  reason: string;
  risk: Risk;
  agentRisk: Risk | undefined;
  rollbackPlan: string | undefined;
  expiresAt: string;
}): NotificationJob {
  const { operation, risk, agentRisk } = request;
  return {
    eventId: `approval-${request.approvalId}`,
    incidentId: request.incidentId,
    event: 'approval_requested',
    severity: 'warning',
    // What would run where, or the agent's question: the line a human decides on.
    title: `Approval needed: ${(operation ?? request.question ?? request.tool).slice(0, 400)}`,
    text: `${request.description}\nReason: ${request.reason}\nRisk: ${risk}${
      operation && agentRisk && agentRisk !== risk ? ` (the agent rated it ${agentRisk})` : ''
    }${request.rollbackPlan ? `\nRollback: ${request.rollbackPlan}` : ''}\nExpires: ${request.expiresAt}`,
    approvalId: request.approvalId,
    details: {
      tool: request.tool,
      args: request.args,
      risk,
      expiresAt: request.expiresAt,
      actionId: request.actionId,
      operation,
    },
  };
}

/** Under an emailed approval request: where to answer it. */
export function approvalAnswerHint(approvalId: string): string {
  return `Approval ${approvalId} is waiting: approve or deny it in Slack or with POST /api/approvals/${approvalId}/approve (or /deny).`;
}

/** What came of a click on an approval request's Approve / Deny button in Slack. */
export type SlackClick =
  | { kind: 'nothing_to_do' }
  | { kind: 'refused'; reason: string | undefined }
  | { kind: 'recorded'; decision: 'approved' | 'denied'; by: string }
  /** A fleet incident's Release / Cancel held button: what the executor did, as the timeline says it. */
  | { kind: 'fleet'; said: string };

/** Slack's reply to the human who clicked. */
export function slackClickReply(click: SlackClick): string {
  switch (click.kind) {
    case 'nothing_to_do':
      return 'Nothing to do for this action.';
    case 'refused':
      return `Could not record that: ${click.reason ?? 'refused'}.`;
    case 'recorded':
      return `${click.decision === 'approved' ? 'Approved' : 'Denied'} by ${click.by}.`;
    case 'fleet':
      return `Done: ${click.said}.`;
  }
}

/** The one notice per approval outcome (approved, denied, answered, expired, cancelled). */
function approvalOutcome(
  approval: Approval,
  message: { event?: 'acknowledged'; severity: Severity; title: string; text: string },
): NotificationJob {
  return {
    eventId: `decided-${approval.id}`,
    incidentId: approval.incidentId,
    event: 'approval_decided',
    approvalId: approval.id,
    ...message,
  };
}

export function approvalDecidedNotice(
  approval: Approval,
  decision: 'approved' | 'denied',
  by: string,
  comment: string,
): NotificationJob {
  return approvalOutcome(approval, {
    severity: decision === 'denied' ? 'warning' : 'info',
    title: `${approval.tool} ${decision} by ${by}`,
    text: comment ? `${by}: ${comment}` : `${by} ${decision} ${approval.tool}.`,
  });
}

/** Approving the agent's question: that human owns the incident now. */
export function questionAnsweredNotice(
  approval: Approval,
  by: string,
  comment: string,
  asked: string,
): NotificationJob {
  return approvalOutcome(approval, {
    event: 'acknowledged',
    severity: 'info',
    title: `${by} took ownership`,
    text: `${by} answered yes to "${asked}" and owns this incident now; Hermes will not act on it further.${
      comment ? `\n${by}: ${comment}` : ''
    }`,
  });
}

export function approvalExpiredNotice(approval: Approval): NotificationJob {
  return approvalOutcome(approval, {
    severity: 'warning',
    title: `${approval.tool} approval expired`,
    text: `Nobody approved ${approval.tool} before ${approval.expiresAt}; it will not run.`,
  });
}

/**
 * An approval closed unanswered because of `reason` (a human's word, or the incident's end):
 * approving it now is refused.
 */
export function approvalCancelledNotice(approval: Approval, reason: string): NotificationJob {
  return approvalOutcome(approval, {
    severity: 'info',
    title: `${approval.tool} approval cancelled`,
    text: `${approval.tool} will not run: its approval was cancelled (${reason}).`,
  });
}

/**
 * Why the agent may not act on an incident any more, or null: it is over (resolved, failed) or a
 * human owns it. The executor refuses the agent's changes with it, triage stops with it, and pending
 * approvals are cancelled with it.
 */
export function agentStopReason(
  incident: {
    status: IncidentSummary['status'];
    acknowledgedBy?: string | undefined;
    acknowledgedAt?: string | undefined;
  } | null,
): string | null {
  if (!incident) return 'the incident no longer exists';
  if (incident.status === 'resolved') return 'the incident is resolved';
  if (incident.status === 'failed') return 'the incident failed';
  if (!incident.acknowledgedBy) return null;
  const since = incident.acknowledgedAt?.slice(11, 16);
  return `the incident is owned by ${incident.acknowledgedBy}${since ? ` since ${since} UTC` : ''}`;
}

/** A human acknowledged or resolved an incident (`hermes ack`, `resolve`, the console). */
export function incidentCommandNotice(
  incident: IncidentSummary,
  command: {
    verb: Exclude<IncidentCommand, 'rerun'>;
    by: string;
    comment: string | undefined;
    round: string;
  },
): NotificationJob {
  const said = command.comment ? `: ${command.comment}` : '';
  const what = describeIncident(incident);
  const { by } = command;
  return {
    eventId: `${incident.id}-${command.round}`.slice(0, 100),
    incidentId: incident.id,
    severity: 'info',
    details: { by, level: incident.level, service: incident.service },
    ...(command.verb === 'acknowledge'
      ? {
          event: 'acknowledged',
          title: `${by} took ownership`,
          text: `${by} took ownership of ${what}${said}.`,
        }
      : { event: 'resolved', title: `resolved by ${by}`, text: `${by} resolved ${what}${said}.` }),
  };
}

export function breakerEventId(nowMs: number): string {
  return `breaker-${nowMs}`;
}

/** Why the executor's circuit breaker opened: enough failures in its window, or its probe failed. */
export type BreakerOpening = { kind: 'threshold'; failures: number } | { kind: 'probe_failed' };

/**
 * The executor's circuit breaker opened: automated fixes stop. The script that opens it picks the
 * notice for how it opened and records the failures it counted in details.failures.
 */
export function breakerOpenNotice(
  incidentId: string,
  trigger: string,
  nowMs: number,
  opening: BreakerOpening,
): NotificationJob {
  const why =
    opening.kind === 'threshold'
      ? `${opening.failures} failed or ineffective actions in the breaker window (last: ${trigger}).`
      : `The probe let through after the cooldown failed (${trigger}): the breaker opened again.`;
  return {
    eventId: breakerEventId(nowMs),
    incidentId,
    event: 'breaker_open',
    severity: 'critical',
    title: 'Executor circuit breaker open: automated fixes stopped',
    text: `${why} Every state change is refused until the cooldown passes; a human should look now.`,
    details: { failures: opening.kind === 'threshold' ? opening.failures : 0, trigger },
  };
}

/** An action ran (or tried to) after its requester had given up on it: what really happened. */
export function lateActionNotice(
  action: { actionId: string; incidentId: string; tool: string; deadline?: string | undefined },
  outcome: { decision: string; reason?: string | undefined },
): NotificationJob {
  return {
    eventId: `late-${action.actionId}`,
    incidentId: action.incidentId,
    event: 'action',
    severity: 'warning',
    title: `${action.tool} finished after triage stopped waiting`,
    text: `${action.tool} was still running when its requester gave up at ${action.deadline}; it ended ${outcome.decision}${
      outcome.reason ? `: ${outcome.reason}` : ''
    }. Earlier messages may say nothing was applied: this is what happened.`,
    details: { actionId: action.actionId, decision: outcome.decision },
  };
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/**
 * Why a fix that keeps "working" is not repeated: "restart_service of api-gateway on api-server-03
 * did not hold: 3rd time in 47 min (earlier: inc_a, inc_b)".
 */
export function recurrenceText(fix: {
  tool: string;
  resource: string;
  target: string;
  earlier: readonly { incidentId: string; alertAt: string }[];
  now: number;
}): string {
  const nth = ordinal(fix.earlier.length + 1);
  const first = Math.min(...fix.earlier.map((entry) => Date.parse(entry.alertAt)));
  const minutes = Math.max(1, Math.round((fix.now - first) / 60_000));
  const ids = [...new Set(fix.earlier.map((entry) => entry.incidentId))].join(', ');
  return `${fix.tool} of ${fix.resource} on ${fix.target} did not hold: ${nth} time in ${minutes} min (earlier: ${ids}); not repeated automatically, a human should look for the cause`;
}

/** Why a fix needs a human because of a learned rule. */
export function learnedRuleText(rule: {
  id: string;
  tool: string;
  alertname: string;
  resource: string;
  evidence: readonly unknown[];
  expiresAt: string;
}): string {
  return `learned rule ${rule.id}: ${rule.tool} was ineffective for ${rule.alertname} on ${rule.resource} ${rule.evidence.length} times; it needs a human approval until ${rule.expiresAt}`;
}
