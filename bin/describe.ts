import { describeArgs } from '../shared/describe-args.js';
import { stateEvidence, verificationProgress } from '../shared/notices.js';
import { decisionWithReason, readable } from '../shared/readable.js';
import type { Approval } from '../shared/schemas/approval.js';
import type { ActionRecord, IncidentSummary, TimelineEntry } from '../shared/schemas/incident.js';

/** The longest line the CLI prints for one timeline entry or action; the rest is `--json`'s. */
const LINE_MAX = 300;
/** A tool's output lines shown under its entry. */
const OUTPUT_LINES = 12;
const OUTPUT_INDENT = ' '.repeat(12);

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const firstLine = (value: string): string => value.split('\n').find((line) => line.trim() !== '') ?? '';

function clip(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

function labelsOf(entry: TimelineEntry): Record<string, string> {
  return (entry.labels && typeof entry.labels === 'object' ? entry.labels : {}) as Record<string, string>;
}

/** The status, with who owns the incident and, while a fix is verified, until when. */
export function describeStatus(
  incident: Pick<IncidentSummary, 'status' | 'acknowledgedBy' | 'verification' | 'fleetIncident'>,
): string {
  const owner = incident.acknowledgedBy ? ` (ack ${incident.acknowledgedBy})` : '';
  const verifying = incident.verification ? `, ${verificationProgress(incident.verification)}` : '';
  // Its changes wait on the fleet incident's humans: "diagnosing" alone reads as stuck.
  const fleet = incident.fleetIncident ? ` (fleet ${incident.fleetIncident})` : '';
  return `${incident.status}${verifying}${owner}${fleet}`;
}

/** What happened, in words, for each kind of timeline entry. */
function entryText(entry: TimelineEntry): string {
  switch (entry.type) {
    case 'alert': {
      const labels = labelsOf(entry);
      const annotations = (entry.annotations ?? {}) as Record<string, string>;
      const where = labels.instance || labels.service || labels.job;
      const said = annotations.summary || annotations.description;
      return `${text(entry.status) || 'firing'} ${labels.alertname ?? 'alert'}${where ? ` on ${where}` : ''}${
        labels.severity ? ` (${labels.severity})` : ''
      }${said ? `: ${firstLine(said)}` : ''}`;
    }
    case 'status':
      return `now ${text(entry.status)}${entry.message ? `: ${entry.message}` : ''}`;
    case 'tool_call': {
      // A one-line output stays on the entry's line; longer ones go below it (outputLines).
      const lines = outputText(entry);
      const output = lines.length === 1 ? lines[0] : '';
      const verdict = text(entry.decision) || (entry.ok === false ? 'failed' : 'ok');
      return `${entry.tool ?? '?'} ${describeArgs(entry.args)} → ${verdict}${output ? `: ${output}` : ''}`;
    }
    case 'action':
      return `${entry.tool ?? '?'} → ${decisionWithReason(text(entry.decision), text(entry.reason))}`;
    case 'approval':
      return `${entry.tool ?? '?'} ${text(entry.decision)}${text(entry.decidedBy) ? ` by ${text(entry.decidedBy)}` : ''}${
        text(entry.comment) ? `: ${text(entry.comment)}` : ''
      }${entry.message ? ` (${entry.message})` : ''}`;
    case 'notification':
      return `${text(entry.event)} via ${text(entry.channel)}: ${text(entry.result)}${
        text(entry.error) ? ` (${text(entry.error)})` : ''
      }`;
    default:
      return entry.message ?? '';
  }
}

/** `14:03:12  action     executor  restart_service → executed: ran: restart api on …` (UTC). */
export function describeEntry(entry: TimelineEntry): string {
  const time = entry.at.slice(11, 19);
  const line = `${time}  ${entry.type.padEnd(12)} ${(entry.by ?? '').padEnd(12)} ${entryText(entry)}`;
  return clip(line.replace(/\s*\n\s*/g, ' '), LINE_MAX);
}

/** A tool call's output as readable lines (the console's wording), blank lines left out. */
function outputText(entry: TimelineEntry): string[] {
  if (entry.type !== 'tool_call' || entry.output === undefined) return [];
  return readable(entry.output)
    .split('\n')
    .filter((line) => line.trim() !== '');
}

/** A longer output under its tool call, indented, at most OUTPUT_LINES; the rest is `--json`'s. */
function outputLines(entry: TimelineEntry): string[] {
  const lines = outputText(entry);
  if (lines.length <= 1) return [];
  const shown = lines.slice(0, OUTPUT_LINES).map((line) => clip(`${OUTPUT_INDENT}${line}`, LINE_MAX));
  const more = lines.length - OUTPUT_LINES;
  return more > 0 ? [...shown, `${OUTPUT_INDENT}… ${more} more lines (--json)`] : shown;
}

/** The timeline with a date line wherever the day changes. */
export function describeTimeline(entries: TimelineEntry[]): string[] {
  const lines: string[] = [];
  let day = '';
  for (const entry of entries) {
    if (entry.at.slice(0, 10) !== day) {
      day = entry.at.slice(0, 10);
      lines.push(`-- ${day} (UTC) --`);
    }
    lines.push(describeEntry(entry), ...outputLines(entry));
  }
  return lines;
}

export function describeAction(action: ActionRecord): string {
  const line = `${action.at.slice(11, 19)}  ${action.tool} ${describeArgs(action.args)} → ${decisionWithReason(action.decision, action.reason ?? '')}`;
  return clip(line.replace(/\s*\n\s*/g, ' '), LINE_MAX);
}

/** Under an action: what its target showed right before it (a restart resets it), then the ERROR lines. */
export function describeStateBefore(action: ActionRecord): string[] {
  if (!action.before) return [];
  const { before } = action;
  const evidence = stateEvidence(before) ?? `${before.status ?? 'state'}, nothing wrong shown`;
  return [
    clip(`          before: ${evidence}`, LINE_MAX),
    ...before.errorLines.map((line) => clip(`            ${line}`, LINE_MAX)),
  ];
}

/** The exact operation (the executor's words), else the agent's question: one line. */
export function describeApprovalRequest(approval: Approval): string {
  const first = firstLine(approval.description ?? '');
  const what =
    approval.tool === 'request_human_confirmation'
      ? `question: ${first || 'the agent asks for a human'} (approving = you take the incident)`
      : first || `${approval.tool} ${describeArgs(approval.args)}`;
  return clip(what, 240);
}
