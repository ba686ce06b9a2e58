import type { IncidentStore } from '../../shared/incidents.js';
import type { IncidentSummary } from '../../shared/schemas/incident.js';
import { alertExpression, type PromData, type PrometheusClient } from './tools/prometheus.js';

export interface Verdict {
  fixed: boolean;
  detail: string;
}

type Labels = Record<string, string>;

const MAX_ALERTS = 200;

/**
 * After a fix, checks whether the incident's own alerts cleared: the rule
 * expression's result restricted to each alert's own series (labels the alert carries), or, without
 * Prometheus, whether Alertmanager still reports the alert firing. Another host still failing the
 * same rule says nothing about this fix.
 */
export class Verifier {
  constructor(
    private readonly store: IncidentStore,
    private readonly prometheus: PrometheusClient | undefined,
  ) {}

  /** The labels of the incident's alerts firing now: what a fix made now has to clear. */
  async firingAlerts(incidentId: string): Promise<Labels[]> {
    return (await this.store.storedAlerts(incidentId, MAX_ALERTS))
      .filter((alert) => alert.status === 'firing')
      .map((alert) => alert.labels);
  }
  /** One re-check of those alerts. */
  async check(incident: IncidentSummary, alerts: Labels[]): Promise<Verdict> {
    const expr = alertExpression(incident.generatorURL);
    if (this.prometheus && expr && alerts.length > 0) {
      try {
        const series = seriesLabels(await this.prometheus.instant(expr));
        const still = alerts.filter((labels) => series.some((metric) => isOwnSeries(metric, labels)));
        const others = series.filter(
          (metric) => !alerts.some((labels) => isOwnSeries(metric, labels)),
        ).length;
        const elsewhere =
          others > 0 ? ` (${others} other series of the rule still match; not this incident's)` : '';
        return still.length > 0
          ? {
              fixed: false,
              detail: `alert expression still matches for ${still.map(describeAlert).join(', ')}: ${expr}`,
            }
          : {
              fixed: true,
              detail: `alert expression no longer matches this alert's series${elsewhere}: ${expr}`,
            };
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

function seriesLabels(data: PromData): Labels[] {
  if (data.resultType !== 'vector' && data.resultType !== 'matrix') return [];
  return data.result.map((sample) => sample.metric as Labels);
}

/** A rule's result series belongs to an alert when the alert carries every one of its labels. */
export function isOwnSeries(metric: Labels, alert: Labels): boolean {
  for (const [name, value] of Object.entries(metric)) {
    if (name === '__name__') continue;
    if (alert[name] !== value) return false;
  }
  return true;
}

function describeAlert(labels: Labels): string {
  return labels.instance
    ? `instance ${labels.instance}`
    : labels.service
      ? `service ${labels.service}`
      : 'the alert';
}
