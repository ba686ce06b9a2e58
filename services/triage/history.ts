import type { Outcome, OutcomeStore } from '../../shared/outcomes.js';
import type { IncidentSummary } from '../../shared/schemas/incident.js';
import type { Placement } from '../../shared/targets/targets.js';

/** What the model is shown of a place's history, at most: the newest verdicts. */
const PROMPT_ENTRIES = 10;

/**
 * Earlier verdicts of fixes on an incident's one place (target and resource), within
 * HISTORY_WINDOW_SECONDS: what the model's prompt shows, and what the runbook planner will not repeat.
 */
export class RecentHistory {
  constructor(
    private readonly outcomes: OutcomeStore,
    private readonly windowSeconds: number,
  ) {}

  /** Other incidents' verdicts on this place within the window, newest first. */
  async of(
    incident: IncidentSummary,
    place: Pick<Placement, 'target' | 'host' | 'resource'> | null,
    now = Date.now(),
  ): Promise<Outcome[]> {
    if (!place) return [];
    const since = new Date(now - this.windowSeconds * 1000).toISOString();
    const all = await this.outcomes.list({ target: place.target, resource: place.resource ?? place.host });
    return all.filter((outcome) => outcome.incidentId !== incident.id && outcome.at >= since).reverse();
  }

  /** The verdicts the prompt carries: the newest few, without free text. */
  async forPrompt(
    incident: IncidentSummary,
    place: Pick<Placement, 'target' | 'host' | 'resource'> | null,
  ): Promise<PromptHistory> {
    return (await this.of(incident, place)).slice(0, PROMPT_ENTRIES).map((outcome) => ({
      at: outcome.at,
      alertname: outcome.alertname,
      tool: outcome.tool,
      resource: outcome.resource,
      verdict: outcome.verdict,
    }));
  }
}

export type PromptHistory = Pick<Outcome, 'at' | 'alertname' | 'tool' | 'resource' | 'verdict'>[];

/** The earlier incidents where this fix for this alert was ineffective on this place. */
export function ineffectiveBefore(history: readonly Outcome[], alertname: string, tool: string): Outcome[] {
  return history.filter(
    (outcome) =>
      outcome.verdict === 'ineffective' && outcome.alertname === alertname && outcome.tool === tool,
  );
}
