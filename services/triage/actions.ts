import type { Queue, QueueEvents } from 'bullmq';
import { actionHash, sha256 } from '../../shared/canonical.js';
import { ExecutorClient } from '../../shared/executor-client.js';
import type { IncidentStore } from '../../shared/incidents.js';
import {
  type ActionJob,
  type ActionOutcome,
  type ApprovalRequest,
  actionFeedbackJobSchema,
  actionJobSchema,
  actionOutcomeSchema,
} from '../../shared/schemas/jobs.js';

/** Asks the executor to run a state-changing tool and waits for its decision. */
export class ActionClient {
  private readonly executor: ExecutorClient;

  constructor(
    private readonly queue: Queue,
    events: QueueEvents,
    private readonly timeoutMs: number,
    private readonly store: IncidentStore,
  ) {
    this.executor = new ExecutorClient(queue, events);
  }

  async request(input: {
    incidentId: string;
    tool: string;
    args: Record<string, unknown>;
    approvalRequest?: ApprovalRequest | undefined;
    askHuman?: boolean | undefined;
  }): Promise<ActionOutcome> {
    const actionId = await this.nextActionId(input.incidentId, input.tool, input.args);
    const deadline = new Date(Date.now() + this.timeoutMs).toISOString();
    const job: ActionJob = actionJobSchema.parse({
      deadline,
      actionId,
      incidentId: input.incidentId,
      tool: input.tool,
      args: input.args,
      requestedBy: 'agent',
      approvalRequest: input.approvalRequest,
      askHuman: input.askHuman,
    });
    const answer = await this.executor.ask('action', job, { jobId: actionId, timeoutMs: this.timeoutMs });
    if (!answer.done) {
      // Either way the executor may have acted: the outcome is unknown, never "nothing was run".
      return {
        actionId,
        decision: 'unknown_outcome',
        reason: answer.timedOut
          ? `no decision from the executor within ${this.timeoutMs} ms; it refuses the action after ${deadline}, and reports it if it was already running`
          : `the executor's answer was lost (${answer.error}); the action may have run: see the incident's actions`,
        durationMs: 0,
      };
    }
    const parsed = actionOutcomeSchema.safeParse(answer.value);
    if (!parsed.success) {
      return {
        actionId,
        decision: 'unknown_outcome',
        reason: 'executor returned no valid outcome',
        durationMs: 0,
      };
    }
    return parsed.data;
  }

  /**
   * The n-th request of one tool with the same arguments for an incident gets the n-th id of a fixed
   * sequence, n counting the requests the executor has already decided. So a request repeated after a
   * crash (triage died before the executor decided) gets the id it had, and the executor, which runs an
   * id at most once, runs it once; a deliberate repeat after a decision gets a new id.
   */
  private async nextActionId(
    incidentId: string,
    tool: string,
    args: Record<string, unknown>,
  ): Promise<string> {
    const request = actionHash(tool, args);
    for (let n = 0; ; n++) {
      const actionId = `act_${sha256(`${incidentId}:${request}:${n}`).slice(0, 32)}`;
      if (!(await this.store.getAction(incidentId, actionId))) return actionId;
    }
  }

  /** After verification: tells the executor's breaker whether an executed action worked. */
  async feedback(incidentId: string, actionId: string, effective: boolean, detail: string): Promise<void> {
    const job = actionFeedbackJobSchema.parse({
      incidentId,
      actionId,
      effective,
      detail: detail.slice(0, 2_000),
    });
    await this.queue.add('feedback', job, { jobId: `feedback-${actionId}` });
  }
}
