import type { OutcomeStore } from '../../shared/outcomes.js';
import type { World } from './world.js';

/**
 * A world's recorded history, kept as the executor would have kept those verdicts, so the prompt and
 * the runbook planner read it the way they read real outcomes. Its times move with the world's first
 * alert to now: what was 3 h before the alert is 3 h ago.
 */
export async function seedHistory(outcomes: OutcomeStore, world: World, now = Date.now()): Promise<void> {
  const alertAt = Math.min(...world.alerts.map((alert) => Date.parse(alert.startsAt)));
  const shift = Number.isFinite(alertAt) ? now - alertAt : 0;
  for (const [index, entry] of world.history.entries()) {
    const at = new Date(Math.min(now, Date.parse(entry.at) + shift)).toISOString();
    await outcomes.record({
      ...entry,
      incidentId: `history-${index + 1}`,
      actionId: `history-${index + 1}`,
      alertAt: at,
      at,
      seconds: 0,
    });
  }
}
