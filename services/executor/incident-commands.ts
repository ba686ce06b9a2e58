import type { Queue } from 'bullmq';
import type { ApprovalDecisions } from '../../shared/approval-decisions.js';
import { randomId } from '../../shared/ids.js';
import { type IncidentStore, OWNABLE_STATUSES } from '../../shared/incidents.js';
import type { Logger } from '../../shared/logger.js';
import { incidentCommandNotice } from '../../shared/notices.js';
import type { NotificationOutbox } from '../../shared/outbox.js';
import { triageFollowUpJobId } from '../../shared/queues.js';
import {
  CLOSED_STATUSES,
  type IncidentStatus,
  type IncidentSummary,
  incidentStatusSchema,
} from '../../shared/schemas/incident.js';
import {
  type IncidentCommand,
  type IncidentCommandJob,
  type IncidentCommandResult,
  incidentCommandJobSchema,
  type TriageJob,
} from '../../shared/schemas/jobs.js';
import type { AuditLog } from './audit.js';
import type { IncidentGate } from './incident-gate.js';

/** Statuses triage can be asked to investigate again from: not while it is investigating. */
const RERUNNABLE: readonly IncidentStatus[] = ['open', 'awaiting_approval', 'escalated', 'failed'];
const UNRESOLVED = incidentStatusSchema.options.filter((status) => status !== 'resolved');

/**
 * A human's acknowledge / resolve / re-run of an incident. The executor carries them out because it
 * alone appends to the audit chain: each changes the status with its notice (one script), cancels the
 * incident's pending approvals (the human's word makes them moot), then is audited with who, what and
 * the status before.
 */
export class IncidentCommands {
  constructor(
    private readonly deps: {
      incidents: IncidentStore;
      /** Cancels the incident's pending approvals. */
      decisions: ApprovalDecisions;
      /** Starts a re-run's round. */
      gate: IncidentGate;
      outbox: NotificationOutbox;
      audit: AuditLog;
      triage: Queue<TriageJob>;
      logger: Logger;
      mode: string;
    },
  ) {}

  async handle(raw: unknown): Promise<IncidentCommandResult> {
    const parsed = incidentCommandJobSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, reason: 'invalid incident_command job' };
    const job = parsed.data;
    const incident = await this.deps.incidents.getSummary(job.incidentId);
    if (!incident) return { ok: false, reason: 'incident not found', notFound: true };
    const result = await this.apply(job, incident);
    if (!result.ok) return result;
    await this.deps.audit.append({
      at: new Date().toISOString(),
      event: `incident_${job.command}`,
      mode: this.deps.mode,
      incidentId: job.incidentId,
      by: job.by,
      comment: job.comment ?? '',
      was: result.previous,
    });
    this.deps.logger.info(
      { incidentId: job.incidentId, command: job.command, by: job.by, was: result.previous },
      'incident command carried out',
    );
    return result;
  }

  private async apply(job: IncidentCommandJob, incident: IncidentSummary): Promise<IncidentCommandResult> {
    const { incidents, outbox, decisions } = this.deps;
    const said = job.comment ? `: ${job.comment}` : '';
    const round = randomId(job.command);
    const notice = (verb: Exclude<IncidentCommand, 'rerun'>) =>
      incidentCommandNotice(incident, { verb, by: job.by, comment: job.comment, round });

    if (job.command === 'acknowledge') {
      const message = `${job.by} acknowledged: a human owns this incident now${said}`;
      const sent = notice('acknowledge');
      const previous = await incidents.setStatus(incident.id, 'escalated', `human:${job.by}`, {
        from: OWNABLE_STATUSES,
        message,
        acknowledgedBy: job.by,
        notice: { source: outbox.source, job: sent },
      });
      if (previous === null) return refused(incident, 'acknowledged');
      await outbox.deliver(sent);
      await decisions.cancelPending(incident.id, job.by, `acknowledged by ${job.by}`);
      return { ok: true, previous, status: 'escalated' };
    }

    if (job.command === 'resolve') {
      const sent = notice('resolve');
      const previous = await incidents.setStatus(incident.id, 'resolved', `human:${job.by}`, {
        from: UNRESOLVED,
        message: `resolved by ${job.by}${said}`,
        notice: { source: outbox.source, job: sent },
      });
      if (previous === null) return refused(incident, 'resolved');
      await outbox.deliver(sent);
      await decisions.cancelPending(incident.id, job.by, `resolved by ${job.by}`);
      return { ok: true, previous, status: 'resolved' };
    }

    // rerun: back to open and to the agent, in a new round with nothing pending from the last one,
    // then a fresh triage job whose notices are this round's own.
    const owner = incident.acknowledgedBy ? ` (taking it back from ${incident.acknowledgedBy})` : '';
    const previous = await incidents.setStatus(incident.id, 'open', `human:${job.by}`, {
      from: RERUNNABLE,
      message: `${job.by} asked for a new investigation${owner}${said}`,
    });
    if (previous === null) return refused(incident, 're-run');
    await incidents.releaseOwnership(incident.id);
    await this.deps.gate.startRound(incident.id, round);
    await decisions.cancelPending(incident.id, job.by, `re-run by ${job.by}`);
    await this.deps.triage.add(
      'triage',
      { incidentId: incident.id, trigger: 'alert', round },
      { jobId: triageFollowUpJobId(incident.id, round), priority: incident.priority },
    );
    return { ok: true, previous, status: 'open' };
  }
}

/** Why the guard refused, from the status read just before (it may have moved since). */
function refused(incident: IncidentSummary, verb: string): IncidentCommandResult {
  const why = CLOSED_STATUSES.includes(incident.status)
    ? 'it is closed'
    : incident.status === 'diagnosing'
      ? 'triage is investigating it right now'
      : incident.status === 'verifying'
        ? 'triage is checking whether its fix worked'
        : `it is ${incident.status}`;
  return { ok: false, reason: `incident ${incident.id} cannot be ${verb}: ${why}` };
}
