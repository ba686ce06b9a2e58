/** A Prometheus histogram's sum and count, over the series whose labels contain every `labels` pair. */
export interface HistogramTotals {
  sum: number;
  count: number;
}

/** Reads one histogram's totals from a /metrics page (Prometheus text format). */
export function histogramTotals(
  page: string,
  name: string,
  labels: Record<string, string> = {},
): HistogramTotals {
  const wanted = Object.entries(labels).map(([label, value]) => `${label}="${value}"`);
  const totals = { sum: 0, count: 0 };
  for (const line of page.split('\n')) {
    const part = line.startsWith(`${name}_sum`) ? 'sum' : line.startsWith(`${name}_count`) ? 'count' : null;
    if (!part) continue;
    const series = line.slice(0, line.lastIndexOf(' '));
    if (series !== `${name}_${part}` && !series.startsWith(`${name}_${part}{`)) continue;
    if (wanted.every((pair) => series.includes(pair))) totals[part] += Number(line.slice(series.length + 1));
  }
  return totals;
}

/** What was added to a histogram between two readings. */
export function histogramDelta(before: HistogramTotals, after: HistogramTotals): HistogramTotals {
  return { sum: after.sum - before.sum, count: after.count - before.count };
}
