import type { LearnedRule } from './learned-rules.js';
import { type Outcome, summarize } from './outcomes.js';

const DAY_MS = 86_400_000;

/**
 * One sentence per fix tried on this place: "restart_service fixed ServiceDown on api-gateway here
 * 14 of 15 times in 30 days; median 40 s".
 */
export function describeHistory(history: readonly Outcome[], now = Date.now()): string[] {
  const groups = new Map<string, { fix: Outcome; outcomes: Outcome[] }>();
  for (const outcome of history) {
    const key = JSON.stringify([outcome.tool, outcome.alertname, outcome.resource]);
    const group = groups.get(key) ?? { fix: outcome, outcomes: [] };
    group.outcomes.push(outcome);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ fix, outcomes }) => {
    const { totals, medianSecondsToRecover } = summarize(outcomes);
    const oldest = Math.min(...outcomes.map((outcome) => Date.parse(outcome.at)));
    const days = Math.max(1, Math.ceil((now - oldest) / DAY_MS));
    const median = medianSecondsToRecover === null ? '' : `; median ${Math.round(medianSecondsToRecover)} s`;
    return `${fix.tool} fixed ${fix.alertname} on ${fix.resource} here ${totals.fixed} of ${outcomes.length} times in ${days} day${days === 1 ? '' : 's'}${median}`;
  });
}

/** One line per earlier incident: "inc_… 2026-12-07T09:00:00Z restart_service fixed after 40 s". */
export function describeOutcome(outcome: Outcome): string {
  return `${outcome.incidentId}  ${outcome.at}  ${outcome.tool} on ${outcome.resource} (${outcome.target}): ${outcome.verdict} after ${Math.round(outcome.seconds)} s`;
}

/** "lrn_…: restart_service for ServiceDown on api needs a human until …; evidence: inc_a, inc_b, inc_c". */
export function describeLearnedRule(rule: LearnedRule): string {
  const evidence = rule.evidence.map((entry) => `${entry.incidentId} (${entry.target})`).join(', ');
  return `${rule.id}: ${rule.tool} for ${rule.alertname} on ${rule.resource} needs a human approval until ${rule.expiresAt}; ineffective in ${evidence}`;
}
