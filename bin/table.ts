/** Lists carry each id's shortest prefix unique among all ever issued: what a human types back. */
export interface ShortIds {
  shortId?: string;
  incidentShortId?: string;
}

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((row) => columns.map((c) => String(row[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] as string).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

/** How long ago (`direction` 1) or how long from now (-1), coarsely. */
export function age(iso: string, direction = 1): string {
  const seconds = Math.max(0, Math.round((direction * (Date.now() - Date.parse(iso))) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}
