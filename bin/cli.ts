import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { AuditVerification } from '../shared/audit-chain.js';
import type { Approval } from '../shared/schemas/approval.js';
import type { Incident, IncidentSummary } from '../shared/schemas/incident.js';
import type { IncidentTargets } from '../shared/targets/incident-targets.js';
import { printable, printableJson } from './printable.js';
import { SCENARIOS } from './scenarios.js';
import { alertmanagerBody } from './webhook.js';

const USAGE = `hermes — talk to a running Hermes ingest

usage: hermes <command> [options]

commands:
  incidents [--status S] [--limit N]   list incidents, newest first
  incident <id>                        one incident with its timeline
  approvals                            pending approvals
  approve <id> [--by NAME] [--comment TEXT]
  deny <id> [--by NAME] [--comment TEXT]
  pause [--by NAME] | resume           kill switch for all automation
  status                               kill switch, execution mode and circuit breaker
  breaker reset --reason TEXT [--by NAME]
                                       close the circuit breaker (audited, with who and why)
  audit verify [--seq N --hash H]      verify the executor's hash-chained audit log (against a
                                       position from the executor's log, to catch truncation)
  fire <scenario>                      post sample alerts (${Object.keys(SCENARIOS).join(', ')})

options:
  --url URL     ingest base URL (env HERMES_URL, default http://127.0.0.1:8080)
  --json        machine-readable output
env: ADMIN_TOKEN for the API, INGEST_TOKEN for fire`;

interface AutomationView {
  paused: boolean;
  by?: string;
  at?: string;
  mode: 'live' | 'dry-run' | null;
  breaker: { state: string; openedAt?: string; reopenAt?: string };
}

function describeWhere(incident: Partial<IncidentTargets>): string {
  const places = (incident.targets ?? []).map((t) => t.description);
  const unplaced = incident.unplaced ?? [];
  if (places.length === 0)
    return `no target, fixes are refused${unplaced.length ? ` (${unplaced.join('; ')})` : ''}`;
  return [...places, ...unplaced.map((reason) => `and no target for some alerts: ${reason}`)].join('; ');
}

function describeAutomation(view: AutomationView): string {
  const breaker = view.breaker;
  return [
    `automation: ${view.paused ? `PAUSED by ${view.by} at ${view.at}` : 'running'}`,
    `mode:       ${view.mode ?? 'unknown (no executor has started)'}`,
    `breaker:    ${breaker.state.replace('_', '-')}${
      breaker.state === 'open' && breaker.reopenAt
        ? ` (state changes refused until ${breaker.reopenAt}; hermes breaker reset --reason … to close it)`
        : ''
    }`,
  ].join('\n');
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: process.env.HERMES_URL ?? 'http://127.0.0.1:8080' },
    json: { type: 'boolean', default: false },
    status: { type: 'string' },
    limit: { type: 'string' },
    by: { type: 'string', default: process.env.USER ?? 'cli' },
    comment: { type: 'string' },
    reason: { type: 'string' },
    seq: { type: 'string' },
    hash: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

class CliError extends Error {}

async function call(
  method: string,
  path: string,
  body?: unknown,
  token = process.env.ADMIN_TOKEN,
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${values.url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new CliError(`cannot reach ${values.url}: ${(error as Error).message}`);
  }
  const text = await res.text();
  const json: unknown = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const message = (json as { error?: string }).error ?? text;
    throw new CliError(`${method} ${path}: ${res.status} ${message}`);
  }
  return json;
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((row) => columns.map((c) => String(row[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] as string).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

function age(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

function describeEntry(entry: Incident['timeline'][number]): string {
  const { at, type, by, tool, message, ...rest } = entry;
  const detail = message ?? (Object.keys(rest).length ? JSON.stringify(rest) : '');
  return `${at}  ${type.padEnd(12)} ${(by ?? '').padEnd(9)} ${tool ? `${tool}: ` : ''}${detail}`.slice(
    0,
    400,
  );
}

const output = (json: unknown, human: () => string) =>
  console.log(values.json ? printableJson(json) : printable(human()));

async function main(): Promise<void> {
  const [command, arg] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  switch (command) {
    case 'incidents': {
      const query = new URLSearchParams();
      if (values.status) query.set('status', values.status);
      if (values.limit) query.set('limit', values.limit);
      const json = (await call('GET', `/api/incidents?${query}`)) as { incidents: IncidentSummary[] };
      output(json, () =>
        table(
          json.incidents.map((i) => ({
            ...i,
            age: age(i.createdAt),
            alerts: i.alertCount,
            storm: i.storm ? 'STORM' : '',
          })),
          ['id', 'level', 'severity', 'status', 'alertname', 'instance', 'alerts', 'age', 'storm'],
        ),
      );
      return;
    }
    case 'incident': {
      const id = z.string().min(1).parse(arg);
      const incident = (await call('GET', `/api/incidents/${encodeURIComponent(id)}`)) as Incident &
        Partial<IncidentTargets>;
      output(incident, () =>
        [
          `${incident.id}  level ${incident.level}  ${incident.status}  ${incident.alertname} on ${incident.instance || incident.service}`,
          `alerts: ${incident.alertCount} (${incident.firingCount} firing)  created ${incident.createdAt}`,
          `where: ${describeWhere(incident)}`,
          incident.summary ? `summary: ${incident.summary}` : '',
          '',
          'timeline:',
          ...incident.timeline.map(describeEntry),
          '',
          'actions:',
          ...incident.actions.map(
            (a) =>
              `${a.at}  ${a.tool} ${JSON.stringify(a.args)} → ${a.decision}${a.reason ? ` (${a.reason})` : ''}`,
          ),
        ]
          .filter((line, i) => line !== '' || i > 2)
          .join('\n'),
      );
      return;
    }
    case 'approvals': {
      const json = (await call('GET', '/api/approvals')) as { approvals: Approval[] };
      output(json, () =>
        table(
          json.approvals.map((a) => ({ ...a, args: JSON.stringify(a.args), expires: a.expiresAt })),
          ['id', 'incidentId', 'tool', 'args', 'risk', 'reason', 'expires'],
        ),
      );
      return;
    }
    case 'approve':
    case 'deny': {
      const id = z.string().min(1, 'usage: hermes approve <approval id>').parse(arg);
      const json = await call('POST', `/api/approvals/${encodeURIComponent(id)}/${command}`, {
        by: values.by,
        comment: values.comment,
      });
      output(json, () => `${id} ${command === 'approve' ? 'approved' : 'denied'} by ${values.by}`);
      return;
    }
    case 'pause': {
      const json = await call('POST', '/api/automation/pause', { by: values.by });
      output(json, () => `automation paused by ${values.by}: the executor refuses every state change`);
      return;
    }
    case 'resume': {
      const json = await call('POST', '/api/automation/resume', {});
      output(json, () => 'automation resumed');
      return;
    }
    case 'status': {
      const json = (await call('GET', '/api/automation')) as AutomationView;
      output(json, () => describeAutomation(json));
      return;
    }
    case 'breaker': {
      if (arg !== 'reset' || !values.reason)
        throw new CliError('usage: hermes breaker reset --reason "why it is safe to act again" [--by NAME]');
      const json = (await call('POST', '/api/automation/breaker/reset', {
        by: values.by,
        reason: values.reason,
      })) as AutomationView & { reset: boolean };
      output(json, () =>
        json.reset
          ? `circuit breaker closed by ${values.by}\n${describeAutomation(json)}`
          : 'reset requested; no executor has carried it out yet (is one running?)',
      );
      return;
    }
    case 'audit': {
      if (arg !== 'verify' || Boolean(values.seq) !== Boolean(values.hash))
        throw new CliError(
          'usage: hermes audit verify [--seq N --hash H]  (a position from the executor log)',
        );
      const witness = values.seq
        ? `?${new URLSearchParams({ seq: values.seq, hash: values.hash ?? '' })}`
        : '';
      const json = (await call('GET', `/api/audit/verify${witness}`)) as AuditVerification;
      output(json, () =>
        json.ok
          ? `audit chain intact: ${json.entries} entries, up to number ${json.lastSeq ?? json.entries}${
              json.trimmed ? ' (older ones trimmed: AUDIT_MAX_ENTRIES)' : ''
            }${values.seq ? `; matches the witnessed entry ${values.seq}` : ''}`
          : `AUDIT CHAIN BROKEN at ${json.brokenAt}: ${json.problem ?? 'it does not verify'}`,
      );
      if (!json.ok) process.exitCode = 2;
      return;
    }
    case 'fire': {
      const scenario = SCENARIOS[arg ?? ''];
      if (!scenario) throw new CliError(`unknown scenario; one of: ${Object.keys(SCENARIOS).join(', ')}`);
      const json = await call(
        'POST',
        '/webhooks/alertmanager',
        alertmanagerBody(scenario),
        process.env.INGEST_TOKEN,
      );
      output(json, () => `fired ${arg}: ${JSON.stringify(json)}`);
      return;
    }
    default:
      throw new CliError(`unknown command ${command}\n\n${USAGE}`);
  }
}

main().catch((error) => {
  console.error(
    printable(
      error instanceof CliError || error instanceof z.ZodError ? `hermes: ${error.message}` : String(error),
    ),
  );
  process.exitCode = 1;
});
