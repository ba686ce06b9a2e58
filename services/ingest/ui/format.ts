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
