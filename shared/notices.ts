import { describeIncident } from './describe-incident.js';
import type { Approval } from './schemas/approval.js';
import type { IncidentSummary } from './schemas/incident.js';
import type {
  Channel,
  IncidentCommand,
  NotificationEvent,
  NotificationJob,
  NotificationSeverity,
  Risk,
} from './schemas/jobs.js';

/**
 * What people are told. Every notice Hermes sends is worded here, from the facts its sender has;
 * senders (and their scripts) record facts, and the notifier only lays a notice out per channel
 * (services/notifier/format.ts). Each notice's eventId makes sending it twice a no-op.
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

export function resolvedEventId(incidentId: string): string {
  return `resolved-${incidentId}`;
}

/**
 * All alerts of an incident resolved. Ingest's intake script records it with the resolution, so it
 * gets this notice with an empty id and fills in the incident's (`resolvedEventId` spelled in Lua).
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

/** A human must take over: `why` is triage's account of what it found and did. */
export function escalatedNotice(
  incident: IncidentSummary,
  why: string,
  critical: boolean,
  round: string,
): NotificationJob {
  return transitionNotice(incident, 'escalated', critical ? 'critical' : 'warning', why, round);
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

/**
 * The executor's circuit breaker opened: automated fixes stop. `{failures}` in the text, and
 * details.failures, get the count in the script that opens it.
 */
export function breakerOpenNotice(incidentId: string, trigger: string, nowMs: number): NotificationJob {
  return {
    eventId: `breaker-${nowMs}`,
    incidentId,
    event: 'breaker_open',
    severity: 'critical',
    title: 'Executor circuit breaker open: automated fixes stopped',
    text: `{failures} failed or ineffective actions in the breaker window (last: ${trigger}). Every state change is refused until the cooldown passes; a human should look now.`,
    details: { failures: 0, trigger },
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
