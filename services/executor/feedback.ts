import type { IncidentStore } from '../../shared/incidents.js';
import { actionFeedbackJobSchema } from '../../shared/schemas/jobs.js';
import { formatIssues } from './args.js';
import type { AuditLog } from './audit.js';
import type { CircuitBreaker } from './breaker.js';
import type { Judgement } from './judgement.js';

export type FeedbackResult = { counted: boolean; reason?: string };

/**
 * triage's verdict on an executed action. Ineffective fixes count towards the breaker; an effective
 * one closes a half-open breaker. Only actions this executor recorded as executed count; each verdict
 * is kept as an outcome, and ineffective ones may make a learned rule.
 */
export class FeedbackHandler {
  constructor(
    private readonly incidents: IncidentStore,
    private readonly breaker: CircuitBreaker,
    private readonly audit: AuditLog,
    private readonly countFailure: (incidentId: string, member: string) => Promise<void>,
    private readonly judgement: Judgement,
    /** Frees the change's budget slot (its verification ended). */
    private readonly freeSlot: (incidentId: string, effective: boolean) => Promise<void>,
  ) {}

  async handle(raw: unknown): Promise<FeedbackResult> {
    const parsed = actionFeedbackJobSchema.safeParse(raw);
    if (!parsed.success)
      return { counted: false, reason: `invalid feedback job: ${formatIssues(parsed.error)}` };
    const { incidentId, actionId, effective, detail } = parsed.data;
    const action = await this.incidents.getAction(incidentId, actionId);
    if (action?.decision !== 'executed')
      return { counted: false, reason: `no executed action ${actionId} on incident ${incidentId}` };
    await this.freeSlot(incidentId, effective);
    if (effective) await this.breaker.recordSuccess();
    else await this.countFailure(incidentId, `ineffective:${actionId}`);
    await this.judgement.verdict(actionId, effective, detail);
    // A feedback job run again (a retry after a Redis error, a stalled job) is audited once.
    await this.audit.append(
      {
        at: new Date().toISOString(),
        event: 'feedback',
        incidentId,
        actionId,
        tool: action.tool,
        effective,
        detail: detail ?? null,
      },
      `feedback:${actionId}`,
    );
    return { counted: true };
  }
}
