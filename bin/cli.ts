import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { AuditVerification } from '../shared/audit-chain.js';
import { describeIncident } from '../shared/describe-incident.js';
import { HermesError } from '../shared/errors.js';
import { shortIds } from '../shared/id-prefix.js';
import { verificationProgress } from '../shared/notices.js';
import type { Approval } from '../shared/schemas/approval.js';
import type { Incident, IncidentSummary } from '../shared/schemas/incident.js';
import type { ExecutionMode } from '../shared/schemas/jobs.js';
import type { IncidentTargets } from '../shared/targets/incident-targets.js';
import { describeAction, describeApprovalRequest, describeStatus, describeTimeline } from './describe.js';
import { printable, printableJson } from './printable.js';
import { SCENARIOS } from './scenarios.js';
import { alertmanagerBody } from './webhook.js';

const USAGE = `hermes — talk to a running Hermes ingest

usage: hermes <command> [options]

commands (an <id> may be any unique prefix of one; the lists show the shortest):
  incidents [--status S] [--limit N]   list incidents, newest first
  incident <id>                        one incident with its timeline
  ack <id> [--comment TEXT]            take ownership: escalated, acknowledged by you
  resolve <id> [--comment TEXT]        close the incident
  rerun <id> [--comment TEXT]          have triage investigate it again
  approvals                            pending approvals: what would run where
  approve <id> [--comment TEXT]        approving the agent's question means you take the incident
  deny <id> [--comment TEXT]
  pause | resume                       kill switch for all automation
  status                               kill switch, mode, circuit breaker and queue depths
  breaker reset --reason TEXT          close the circuit breaker (audited, with who and why)
  audit verify [--seq N --hash H]      verify the executor's hash-chained audit log (against a
                                       position from the executor's log, to catch truncation)
  fire <scenario>                      post sample alerts (${Object.keys(SCENARIOS).join(', ')})

options:
  --url URL     ingest base URL (env HERMES_URL, default http://127.0.0.1:8080)
  --by NAME     who you are, for approvals and commands (default $USER)
  --json        machine-readable output
env: ADMIN_TOKEN for the API, INGEST_TOKEN for fire`;

const COMMAND_DONE = { ack: 'acknowledged', resolve: 'resolved', rerun: 'sent back to triage' } as const;
const COMMAND_PATH = { ack: 'acknowledge', resolve: 'resolve', rerun: 'rerun' } as const;

interface AutomationView {
  paused: boolean;
  by?: string;
  at?: string;
  mode: ExecutionMode | null;
  breaker: { state: string; openedAt?: string; reopenAt?: string };
  queues?: Record<string, number>;
}

function describeWhere(incident: Partial<IncidentTargets>): string {
  const places = (incident.targets ?? []).map((t) => t.description);
  const unplaced = incident.unplaced ?? [];
  if (places.length === 0)
    return `no target, fixes are refused${unplaced.length ? ` (${unplaced.join('; ')})` : ''}`;
  return [...places, ...unplaced.map((reason) => `and no target for some alerts: ${reason}`)].join('; ');
}

/** `verifying: restart_service ran; re-checking every 5 s until 12:05:40 UTC`. */
function describeVerification(incident: Incident): string {
  const verification = incident.verification;
  if (!verification) return '';
  const fixes = verification.actionIds.map((id) => incident.actions.find((a) => a.id === id)?.tool ?? id);
  return `verifying: ${fixes.join(', ')} ran; ${verificationProgress(verification)}`;
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
    ...(view.queues
      ? [
          `queues:     ${Object.entries(view.queues)
            .map(([queue, depth]) => `${queue} ${depth}`)
            .join(', ')} waiting`,
        ]
      : []),
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

class CliError extends HermesError {}

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
  let json: unknown = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    if (res.ok)
      throw new CliError(`${method} ${path}: ${values.url} did not answer JSON; is it Hermes ingest?`);
  }
  if (!res.ok) {
    const message = (json as { error?: string }).error ?? text.slice(0, 200);
    throw new CliError(`${method} ${path}: ${res.status} ${message}${hint(res.status, token)}`);
  }
  return json;
}

/** What to do about a refusal: which token, or which id. */
function hint(status: number, token: string | undefined): string {
  if (status !== 401) return '';
  const name = token !== undefined && token === process.env.INGEST_TOKEN ? 'INGEST_TOKEN' : 'ADMIN_TOKEN';
  return `\n  set ${name} to the value ingest was started with (${
    token ? `the ${name} you set was refused` : `${name} is not set here`
  })`;
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

/** How long ago (`direction` 1) or how long from now (-1), coarsely. */
function age(iso: string, direction = 1): string {
  const seconds = Math.max(0, Math.round((direction * (Date.now() - Date.parse(iso))) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
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
      const short = shortIds(json.incidents.map((i) => i.id));
      output(json, () =>
        json.incidents.length === 0
          ? `no incidents${values.status ? ` with status ${values.status}` : ''}`
          : table(
              json.incidents.map((i) => ({
                ...i,
                id: short.get(i.id),
                status: describeStatus(i),
                age: age(i.createdAt),
                alerts: i.alertCount,
                storm: i.storm ? 'STORM' : '',
              })),
              [
                'id',
                'level',
                'severity',
                'status',
                'alertname',
                'service',
                'instance',
                'alerts',
                'age',
                'storm',
              ],
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
          `${incident.id}  level ${incident.level}  ${incident.status}  ${describeIncident(incident)}`,
          ...(incident.verification ? [describeVerification(incident)] : []),
          `service: ${incident.service || '(none)'}  alerts: ${incident.alertCount} (${incident.firingCount} firing)  created ${incident.createdAt}`,
          ...(incident.acknowledgedBy
            ? [`owner: ${incident.acknowledgedBy} (acknowledged ${incident.acknowledgedAt ?? ''})`]
            : []),
          `where: ${describeWhere(incident)}`,
          ...(incident.summary ? [`summary: ${incident.summary}`] : []),
          '',
          'timeline:',
          ...describeTimeline(incident.timeline),
          '',
          'actions:',
          ...(incident.actions.length ? incident.actions.map(describeAction) : ['(none)']),
        ].join('\n'),
      );
      return;
    }
    case 'ack':
    case 'resolve':
    case 'rerun': {
      const id = z.string().min(1, `usage: hermes ${command} <incident id> [--comment TEXT]`).parse(arg);
      const json = (await call('POST', `/api/incidents/${encodeURIComponent(id)}/${COMMAND_PATH[command]}`, {
        by: values.by,
        comment: values.comment,
      })) as { done: boolean; incident?: IncidentSummary };
      output(json, () =>
        json.incident
          ? `${json.incident.id} ${COMMAND_DONE[command]} by ${values.by}: now ${json.incident.status}`
          : 'requested; no executor has carried it out yet (is one running?)',
      );
      return;
    }
    case 'approvals': {
      const json = (await call('GET', '/api/approvals')) as { approvals: Approval[] };
      const short = shortIds(json.approvals.map((a) => a.id));
      const incidents = shortIds(json.approvals.map((a) => a.incidentId));
      output(json, () =>
        json.approvals.length === 0
          ? 'no pending approvals'
          : table(
              json.approvals.map((a) => ({
                id: short.get(a.id),
                incident: incidents.get(a.incidentId),
                risk: a.risk,
                expires: age(a.expiresAt, -1),
                what: describeApprovalRequest(a),
              })),
              ['id', 'incident', 'risk', 'expires', 'what'],
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
      const { approval } = json as { approval: Approval };
      output(json, () =>
        approval.tool === 'request_human_confirmation' && command === 'approve'
          ? `${approval.id} approved by ${values.by}: you own incident ${approval.incidentId} now`
          : `${approval.id} ${command === 'approve' ? 'approved' : 'denied'} by ${values.by}: ${describeApprovalRequest(approval)}`,
      );
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
