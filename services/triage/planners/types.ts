import { HermesError } from '../../../shared/errors.js';
import type { IncidentSummary } from '../../../shared/schemas/incident.js';
import type { Diagnosis } from '../llm/diagnosis.js';
import type { ToolResult } from '../tools/toolbox.js';

export interface PlanContext {
  incident: IncidentSummary;
  signal: AbortSignal;
  /**
   * Why the agent must stop now (the incident was resolved, failed, or a human owns it), or null:
   * asked before every model call and every tool call.
   */
  halted(): Promise<string | null>;
}

/**
 * `finished`: the planner reached its end. `awaiting_approval`: the executor turned an action into an
 * approval request, so a human decides next. `exhausted`: a budget or safety cut-off stopped it.
 * `stopped`: a human's word (or the incident's end) stopped it; `summary` says which.
 */
export interface PlanResult {
  kind: 'finished' | 'awaiting_approval' | 'exhausted' | 'stopped';
  summary: string;
  calls: ToolResult[];
  /** The model's structured root cause, when its final answer gave a valid one. */
  diagnosis?: Diagnosis;
  /** Why a finished model answer has no diagnosis. */
  diagnosisError?: string;
}

export interface Planner {
  readonly name: 'llm' | 'runbook';
  plan(context: PlanContext): Promise<PlanResult>;
}

export class ShutdownError extends HermesError {
  constructor() {
    super('triage worker is shutting down; the job will be retried', { retryable: true });
  }
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new ShutdownError();
}
