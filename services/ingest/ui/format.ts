/** Compact age for tables: coarse enough that a list's HTML (and its ETag) changes at most once a minute. */
export function age(iso: string, now = Date.now()): string {
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return '?';
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return '<1m';
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

/** Time left until `iso`, or `expired`. */
export function remaining(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso) - now;
  if (!Number.isFinite(ms)) return '?';
  if (ms <= 0) return 'expired';
  const minutes = Math.ceil(ms / 60_000);
  return minutes < 60 ? `${minutes}m left` : `${Math.floor(minutes / 60)}h ${minutes % 60}m left`;
}

/** Only http(s) links: alert payloads are untrusted, and a `javascript:` generatorURL must not become a link. */
export function safeHref(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** One command an action ran, as a terminal shows it. */
export interface CommandRun {
  command: string;
  exit: string;
  stdout: string;
  stderr: string;
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

function commandRun(step: Record<string, unknown>, command: string): CommandRun {
  const exit =
    step.timedOut === true
      ? 'timed out'
      : typeof step.exitCode === 'number'
        ? `exit ${step.exitCode}`
        : str(step.signal) || str(step.spawnError) || 'no exit code';
  return { command, exit, stdout: str(step.stdout), stderr: str(step.stderr) };
}

/**
 * The commands in an action's result (a local argv, or an SSH target's steps), or null when the
 * result is not commands (a Docker restart, a disk clean): those are shown as they are.
 */
export function commandRuns(result: unknown): CommandRun[] | null {
  if (!result || typeof result !== 'object') return null;
  const value = result as Record<string, unknown>;
  if (Array.isArray(value.argv)) return [commandRun(value, value.argv.map(String).join(' '))];
  if (Array.isArray(value.steps))
    return value.steps
      .filter((step): step is Record<string, unknown> => Boolean(step) && typeof step === 'object')
      .map((step) => commandRun(step, str(step.command)));
  return null;
}

/** Where to look at an incident's alert: its Prometheus graph and Grafana (http(s) links only). */
export function alertLinks(
  incident: { generatorURL: string; annotations: Record<string, string> },
  env: { PROMETHEUS_EXTERNAL_URL?: string | undefined; GRAFANA_URL?: string | undefined },
): { prometheus?: string | undefined; grafana?: string | undefined } {
  let expr: string | null = null;
  try {
    expr = new URL(incident.generatorURL).searchParams.get('g0.expr');
  } catch {
    // No generatorURL (or not a URL): no expression to link to.
  }
  const base = (url: string) => url.replace(/\/$/, '');
  const prometheus =
    env.PROMETHEUS_EXTERNAL_URL && expr
      ? `${base(env.PROMETHEUS_EXTERNAL_URL)}/graph?${new URLSearchParams({ 'g0.expr': expr, 'g0.tab': '0', 'g0.range_input': '1h' })}`
      : safeHref(incident.generatorURL);
  const explore = {
    queries: [{ refId: 'A', expr }],
    range: { from: 'now-1h', to: 'now' },
  };
  const grafana =
    safeHref(incident.annotations.dashboard_url ?? incident.annotations.grafana_url) ??
    (env.GRAFANA_URL && expr
      ? `${base(env.GRAFANA_URL)}/explore?${new URLSearchParams({ left: JSON.stringify(explore) })}`
      : undefined);
  return { prometheus: safeHref(prometheus), grafana: safeHref(grafana) };
}

/** Below this depth, objects are shown as compact JSON (a result is rarely deeper). */
const READABLE_DEPTH = 3;

/**
 * A tool's output or an action's result for reading, not parsing: text as is, a list of lines as
 * lines, an object as `key: value` lines, nested objects and lists indented under their key;
 * anything deeper than a few levels as compact JSON.
 */
export function readable(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((item) => typeof item !== 'object' || item === null))
    return value.map(String).join('\n');
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return JSON.stringify(value) ?? String(value);
  return readableLines(value as Record<string, unknown>, 0).join('\n');
}

function readableLines(value: Record<string, unknown> | unknown[], depth: number): string[] {
  const indent = (lines: string[]) => lines.map((line) => `  ${line}`);
  const entries = Array.isArray(value)
    ? value.map((item) => ['-', item] as const)
    : Object.entries(value).map(([key, item]) => [`${key}:`, item] as const);
  return entries.flatMap(([label, item]) => {
    if (typeof item === 'string')
      return item.includes('\n') ? [label, ...indent(item.split('\n'))] : [`${label} ${item}`];
    if (Array.isArray(item) && item.length === 0) return [`${label} (none)`];
    if (item && typeof item === 'object' && depth < READABLE_DEPTH)
      return [label, ...indent(readableLines(item as Record<string, unknown>, depth + 1))];
    return [`${label} ${JSON.stringify(item) ?? String(item)}`];
  });
}
