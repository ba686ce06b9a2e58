import { untilStored } from '../../shared/durably.js';
import type { IncidentStore } from '../../shared/incidents.js';
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import type { ActionJob, ActionOutcome, ExecutionMode } from '../../shared/schemas/jobs.js';
import type { AuditLog } from './audit.js';

/** Writes one decision everywhere it belongs: incident actions and timeline, audit chain, metrics, log. */
export class DecisionRecorder {
  constructor(
    private readonly deps: {
      incidents: IncidentStore;
      audit: AuditLog;
      metrics: Metrics;
      logger: Logger;
      mode: ExecutionMode;
      /** Whether the policy lists a tool (others are counted as `unlisted` in metrics). */
      knownTool: (tool: string) => boolean;
    },
  ) {}

  /**
   * Each part is retried until stored: a decision is a fact (an action may have run), and a Redis
   * blip must not leave the incident and the audit trail without it. `once`: a decision that may be
   * recorded again (a crashed recording redone) is on the incident and in the audit trail once.
   */
  async record(job: ActionJob, outcome: ActionOutcome, once = false): Promise<void> {
    const at = new Date().toISOString();
    const durably = <T>(what: string, write: () => Promise<T>) =>
      untilStored(write, `${what} of ${job.actionId}`, this.deps.logger);
    // The incident's records and the audit chain are independent writes: made concurrently.
    await Promise.all([
      durably('the incident record', () => this.recordOnIncident(job, outcome, at, once)),
      durably('the audit entry', () =>
        this.deps.audit.append(
          {
            at,
            event: 'action',
            mode: this.deps.mode,
            actionId: job.actionId,
            incidentId: job.incidentId,
            tool: job.tool,
            args: job.args,
            requestedBy: job.requestedBy,
            approvalId: outcome.approvalId ?? job.approvalId ?? null,
            decision: outcome.decision,
            reason: outcome.reason ?? null,
            durationMs: outcome.durationMs,
          },
          once ? `decision:${job.actionId}:${outcome.decision}` : undefined,
        ),
      ),
    ]);
    this.deps.metrics.actions.inc({
      tool: this.deps.knownTool(job.tool) ? job.tool : 'unlisted',
      decision: outcome.decision,
    });
    this.deps.logger.info(
      {
        actionId: job.actionId,
        incidentId: job.incidentId,
        tool: job.tool,
        decision: outcome.decision,
        reason: outcome.reason,
      },
      'action decided',
    );
  }

  private async recordOnIncident(
    job: ActionJob,
    outcome: ActionOutcome,
    at: string,
    once: boolean,
  ): Promise<void> {
    await this.deps.incidents.recordDecision(
      job.incidentId,
      {
        id: job.actionId,
        tool: job.tool,
        args: job.args,
        requestedBy: job.requestedBy,
        decision: outcome.decision,
        reason: outcome.reason,
        operation: outcome.operation,
        result: outcome.result,
        ...(outcome.before && { before: outcome.before }),
        approvalId: outcome.approvalId ?? job.approvalId,
        durationMs: outcome.durationMs,
        at,
      },
      {
        type: 'action',
        by: 'executor',
        tool: job.tool,
        actionId: job.actionId,
        decision: outcome.decision,
        reason: outcome.reason,
        at,
      },
      once,
    );
  }

  /** A job that failed validation: audited with its reason, nothing else touched. */
  async rejected(raw: unknown, outcome: ActionOutcome): Promise<void> {
    await this.deps.audit.append({
      at: new Date().toISOString(),
      event: 'rejected_job',
      actionId: outcome.actionId,
      decision: outcome.decision,
      reason: outcome.reason ?? null,
      payload: JSON.stringify(raw ?? null).slice(0, 2_000),
    });
    this.deps.metrics.actions.inc({ tool: 'invalid', decision: outcome.decision });
    this.deps.logger.warn({ actionId: outcome.actionId, reason: outcome.reason }, 'action job rejected');
  }
}
