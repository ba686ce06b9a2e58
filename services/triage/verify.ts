import type { IncidentStore } from '../../shared/incidents.js';
import type { IncidentSummary } from '../../shared/schemas/incident.js';
import { throwIfAborted } from './planners/types.js';
import { alertExpression, hasSamples, type PrometheusClient } from './tools/prometheus.js';

export interface Verdict {
  fixed: boolean;
  detail: string;
}

/**
 * After a fix, re-checks the triggering signal until it clears or the window ends: the alert's own
 * expression in Prometheus when known, otherwise whether Alertmanager still reports it firing.
 */
export class Verifier {
  constructor(
    private readonly store: IncidentStore,
    private readonly prometheus: PrometheusClient | undefined,
    private readonly windowMs: number,
    private readonly intervalMs: number,
  ) {}

  async verify(incident: IncidentSummary, signal: AbortSignal): Promise<Verdict> {
    const deadline = Date.now() + this.windowMs;
    let last: Verdict;
    for (;;) {
      throwIfAborted(signal);
      last = await this.check(incident);
      if (last.fixed || Date.now() >= deadline) return last;
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.intervalMs, deadline - Date.now())));
    }
  }

  private async check(incident: IncidentSummary): Promise<Verdict> {
    const expr = alertExpression(incident.generatorURL);
    if (this.prometheus && expr) {
      try {
        const data = await this.prometheus.instant(expr);
        return hasSamples(data)
          ? { fixed: false, detail: `alert expression still matches: ${expr}` }
          : { fixed: true, detail: `alert expression no longer matches: ${expr}` };
      } catch {
        // Prometheus unavailable: fall back to the alert state Alertmanager reported.
      }
    }
    const current = await this.store.getSummary(incident.id);
    const firing = current?.firingCount ?? 0;
    return firing === 0
      ? { fixed: true, detail: 'Alertmanager reports the alert resolved' }
      : { fixed: false, detail: `alert still firing (${firing} firing)` };
  }
}
