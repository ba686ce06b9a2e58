import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { AuditVerification, AuditWitness } from '../shared/audit-chain.js';
import {
  type ChainPositions,
  compareWithWitnesses,
  parseWitnessLine,
  Witnesses,
  type WitnessReport,
} from '../shared/audit-witness.js';
import { describeIncident } from '../shared/describe-incident.js';
import { HermesError } from '../shared/errors.js';
import { verificationProgress } from '../shared/notices.js';
import type { Approval } from '../shared/schemas/approval.js';
import type { Incident, IncidentSummary } from '../shared/schemas/incident.js';
import type { ExecutionMode } from '../shared/schemas/jobs.js';
import type { IncidentTargets } from '../shared/targets/incident-targets.js';
import { describeAction, describeApprovalRequest, describeStatus, describeTimeline } from './describe.js';
import { printable, printableJson } from './printable.js';
import { SCENARIOS } from './scenarios.js';
import { UsersCommandError, usersCommand } from './users.js';
import { alertmanagerBody } from './webhook.js';

const USAGE = `hermes — talk to a running Hermes ingest

usage: hermes <command> [options]

commands (an <id> may be a prefix of one that no other id ever issued shares; lists show the
shortest, and a prefix that has become ambiguous is refused, naming the ids it begins):
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
  audit verify [--witness FILE]...     verify the executor's hash-chained audit log, and compare it
    [--max-entries N]                  with the executor's witness file or log (AUDIT_WITNESS_FILE,
    [--seq N --hash H]                 or its log lines with auditSeq/auditHash) to catch removal at
                                       the newest end; a trimmed chain is held to --max-entries (env
                                       AUDIT_MAX_ENTRIES, default ingest's); exit 2 when either fails
  fire <scenario>                      post sample alerts (${Object.keys(SCENARIOS).join(', ')})
  users new-token [--name NAME]        a new random token and its USERS_FILE entry
  users hash-token < token             the token_hash of a token read from stdin

options:
  --url URL     ingest base URL (env HERMES_URL, default http://127.0.0.1:8080)
  --by NAME     who you are, with the break-glass ADMIN_TOKEN or without tokens (default $USER);
                with HERMES_TOKEN your credential names you
  --json        machine-readable output
env: HERMES_TOKEN (your own token from USERS_FILE) or ADMIN_TOKEN (break-glass) for the API,
     INGEST_TOKEN for fire`;

/** Lists carry each id's shortest prefix unique among all ever issued: what a human types back. */
interface ShortIds {
  shortId?: string;
  incidentShortId?: string;
}

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
    by: { type: 'string' },
    name: { type: 'string' },
    comment: { type: 'string' },
    reason: { type: 'string' },
    seq: { type: 'string' },
    hash: { type: 'string' },
    witness: { type: 'string', multiple: true },
    'max-entries': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

class CliError extends HermesError {}

/** Your own token names you; the break-glass ADMIN_TOKEN (or none) is told who you are. */
const apiToken = process.env.HERMES_TOKEN || process.env.ADMIN_TOKEN;
const by = values.by ?? (process.env.HERMES_TOKEN ? undefined : (process.env.USER ?? 'cli'));
const who = by ?? 'you';

async function call(method: string, path: string, body?: unknown, token = apiToken): Promise<unknown> {
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
  const name =
    token !== undefined && token === process.env.INGEST_TOKEN
      ? 'INGEST_TOKEN'
      : process.env.HERMES_TOKEN
        ? 'HERMES_TOKEN'
        : 'ADMIN_TOKEN';
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

const AUDIT_USAGE =
  "usage: hermes audit verify [--witness FILE]... [--max-entries N] [--seq N --hash H]  (FILE: the executor's AUDIT_WITNESS_FILE or its log)";

function retention(raw: string): number {
  const parsed = z.coerce.number().int().min(1).safeParse(raw);
  if (!parsed.success)
    throw new CliError(`--max-entries (or AUDIT_MAX_ENTRIES) is a whole number, not ${raw}`);
  return parsed.data;
}

function witnessFlag(seq: string, hash: string): AuditWitness {
  const witness = parseWitnessLine(JSON.stringify({ seq: Number(seq), hash }));
  if (!witness) throw new CliError(`--seq is an entry number and --hash its 64 hex digits\n${AUDIT_USAGE}`);
  return witness;
}

/** Every witness in these files: lines of the executor's witness file or log (other lines are skipped). */
async function readWitnesses(paths: string[]): Promise<Witnesses> {
  const witnesses = new Witnesses();
  for (const path of paths) {
    let found = 0;
    try {
      for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
        const witness = parseWitnessLine(line);
        if (witness) {
          witnesses.add(witness);
          found++;
        }
      }
    } catch (error) {
      throw new CliError(`cannot read witness file ${path}: ${(error as Error).message}`);
    }
    if (found === 0)
      throw new CliError(
        `${path} holds no audit witness (lines with seq and hash, or executor log lines with auditSeq and auditHash)`,
      );
  }
  return witnesses;
}

/** The kept chain's numbers and hashes, page by page. */
async function chainPositions(): Promise<ChainPositions> {
  const bySeq = new Map<number, string>();
  let lastSeq = 0;
  let after: string | null = null;
  do {
    const page = (await call(
      'GET',
      `/api/audit/positions${after ? `?${new URLSearchParams({ after })}` : ''}`,
    )) as { positions: [number, string][]; next: string | null };
    for (const [seq, hash] of page.positions) {
      bySeq.set(seq, hash);
      lastSeq = Math.max(lastSeq, seq);
    }
    after = page.next;
  } while (after);
  return { bySeq, lastSeq };
}

function describeAuditCheck(chain: AuditVerification, witness: WitnessReport | undefined): string {
  const kept = `${chain.entries} entries, up to number ${chain.lastSeq ?? chain.entries}`;
  return [
    `chain:   ${
      chain.ok
        ? `intact: ${kept}${chain.trimmed ? ' (older ones trimmed, no fewer kept than AUDIT_MAX_ENTRIES)' : ''}`
        : `BROKEN at ${chain.brokenAt}: ${chain.problem ?? 'it does not verify'}`
    }`,
    '         checks every kept entry against the one before it (edited, inserted, reordered or removed',
    '         entries), head and counter, and that a trimmed chain keeps AUDIT_MAX_ENTRIES (the oldest end)',
    `witness: ${
      witness === undefined
        ? 'none given (--witness FILE): entries removed at the newest end, head and counter rewound, cannot be seen'
        : witness.ok
          ? `agrees: witnessed entries kept unchanged ${witness.agreeing}, trimmed since ${witness.trimmed}; kept entries not in the witnesses given ${witness.unwitnessed}`
          : `BROKEN: ${witness.problems.join('; ')}`
    }`,
    '         checks the chain against the numbers and hashes the executor logged outside Redis (missing,',
    '         rewritten or rewound entries)',
  ].join('\n');
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
      const json = (await call('GET', `/api/incidents?${query}`)) as {
        incidents: (IncidentSummary & ShortIds)[];
      };
      output(json, () =>
        json.incidents.length === 0
          ? `no incidents${values.status ? ` with status ${values.status}` : ''}`
          : table(
              json.incidents.map((i) => ({
                ...i,
                id: i.shortId ?? i.id,
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
        by,
        comment: values.comment,
      })) as { done: boolean; by?: string; incident?: IncidentSummary };
      output(json, () =>
        json.incident
          ? `${json.incident.id} ${COMMAND_DONE[command]} by ${json.by ?? who}: now ${json.incident.status}`
          : 'requested; no executor has carried it out yet (is one running?)',
      );
      return;
    }
    case 'approvals': {
      const json = (await call('GET', '/api/approvals')) as { approvals: (Approval & ShortIds)[] };
      output(json, () =>
        json.approvals.length === 0
          ? 'no pending approvals'
          : table(
              json.approvals.map((a) => ({
                id: a.shortId ?? a.id,
                incident: a.incidentShortId ?? a.incidentId,
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
        by,
        comment: values.comment,
      });
      const { approval } = json as { approval: Approval };
      output(json, () =>
        approval.tool === 'request_human_confirmation' && command === 'approve'
          ? `${approval.id} approved by ${approval.decidedBy ?? who}: you own incident ${approval.incidentId} now`
          : `${approval.id} ${command === 'approve' ? 'approved' : 'denied'} by ${approval.decidedBy ?? who}: ${describeApprovalRequest(approval)}`,
      );
      return;
    }
    case 'pause': {
      const json = (await call('POST', '/api/automation/pause', { by })) as AutomationView;
      output(json, () => `automation paused by ${json.by ?? who}: the executor refuses every state change`);
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
        by,
        reason: values.reason,
      })) as AutomationView & { reset: boolean; resetBy?: string };
      output(json, () =>
        json.reset
          ? `circuit breaker closed by ${json.resetBy ?? who}\n${describeAutomation(json)}`
          : 'reset requested; no executor has carried it out yet (is one running?)',
      );
      return;
    }
    case 'audit': {
      if (arg !== 'verify' || Boolean(values.seq) !== Boolean(values.hash)) throw new CliError(AUDIT_USAGE);
      // The retention a trimmed chain is held to is this verifier's (flag, env, else ingest's own).
      const maxEntries = values['max-entries'] ?? process.env.AUDIT_MAX_ENTRIES;
      const query = maxEntries
        ? `?${new URLSearchParams({ maxEntries: String(retention(maxEntries)) })}`
        : '';
      const witnesses = await readWitnesses(values.witness ?? []);
      if (values.seq) witnesses.add(witnessFlag(values.seq, values.hash ?? ''));
      const given = witnesses.bySeq.size > 0;
      const chain = (await call('GET', `/api/audit/verify${query}`)) as AuditVerification;
      const witness = given ? compareWithWitnesses(await chainPositions(), witnesses) : undefined;
      output({ ...chain, ...(witness ? { witness } : {}) }, () => describeAuditCheck(chain, witness));
      if (!chain.ok || (witness && !witness.ok)) process.exitCode = 2;
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
    case 'users':
      console.log(await usersCommand(arg, values.name));
      return;
    default:
      throw new CliError(`unknown command ${command}\n\n${USAGE}`);
  }
}

main().catch((error) => {
  console.error(
    printable(
      error instanceof CliError || error instanceof UsersCommandError || error instanceof z.ZodError
        ? `hermes: ${error.message}`
        : String(error),
    ),
  );
  process.exitCode = 1;
});
