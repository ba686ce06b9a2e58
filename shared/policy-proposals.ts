import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import type { LearnedRules } from './learned-rules.js';
import { type Outcome, type OutcomeStore, summarize } from './outcomes.js';
import {
  DEFAULT_PROPOSE_AFTER_APPROVALS,
  type FixPair,
  type PreapprovedEntry,
  preapprovalFor,
} from './preapproved.js';

/** One human-approved run of the fix, verified fixed: why Hermes proposes it. */
export interface ProposalEvidence {
  incidentId: string;
  actionId: string;
  target: string;
  approvedBy: string;
  at: string;
  /** Seconds from the alert to the verified fix. */
  seconds: number;
}

/** A policy change Hermes proposes and only a human applies: preapprove this fix. */
export interface PolicyProposal extends FixPair {
  approvals: number;
  approvers: string[];
  medianSecondsToRecover: number;
  evidence: ProposalEvidence[];
  entry: PreapprovedEntry;
  /** A unified diff against the policy file as read now (or, unread, the snippet to add and why). */
  diff: string;
}

/** What every view of proposals says, with them. */
export const APPLY_BY_HAND = 'apply by editing policy.yaml; Hermes never changes its own policy';

export interface PolicyProposals {
  policyFile: string;
  apply: typeof APPLY_BY_HAND;
  /** Why the policy file could not be read, when it could not (the diffs are then snippets). */
  unreadable?: string;
  proposeAfterApprovals: number;
  proposals: PolicyProposal[];
}

/** The little of the policy proposals depend on; the executor validates the rest. */
const policyViewSchema = z.object({
  learning: z.object({ proposeAfterApprovals: z.number().int().min(1).optional() }).nullish(),
  preapproved: z.array(z.object({ alertname: z.string(), tool: z.string(), resource: z.string() })).nullish(),
});

type PolicyText = { text: string; view: z.infer<typeof policyViewSchema> } | { unreadable: string };

/**
 * Fixes humans approved at least `learning.proposeAfterApprovals` times within the outcomes' horizon,
 * every one verified fixed, with no learned rule in force and not preapproved yet. Reads the policy
 * file; never writes it.
 */
export async function policyProposals(deps: {
  outcomes: OutcomeStore;
  learned: LearnedRules;
  policyFile: string;
}): Promise<PolicyProposals> {
  const [policy, outcomes, rules] = await Promise.all([
    readPolicy(deps.policyFile),
    deps.outcomes.list({}),
    deps.learned.list(),
  ]);
  const view = 'view' in policy ? policy.view : null;
  const threshold = view?.learning?.proposeAfterApprovals ?? DEFAULT_PROPOSE_AFTER_APPROVALS;
  const preapproved = view?.preapproved ?? [];
  const ruled = new Set(rules.map((rule) => pairKey(rule)));
  const approvedRuns = new Map<string, (Outcome & { approvedBy: string })[]>();
  for (const outcome of outcomes) {
    if (!outcome.approvedBy) continue;
    const key = pairKey(outcome);
    const runs = approvedRuns.get(key) ?? [];
    runs.push({ ...outcome, approvedBy: outcome.approvedBy });
    approvedRuns.set(key, runs);
  }
  const proposals: PolicyProposal[] = [];
  for (const [key, runs] of approvedRuns) {
    const [first] = runs;
    if (!first || runs.length < threshold || runs.some((run) => run.verdict !== 'fixed')) continue;
    const pair = { alertname: first.alertname, tool: first.tool, resource: first.resource };
    if (ruled.has(key) || preapprovalFor(preapproved, pair)) continue;
    proposals.push(propose(pair, runs, policy, deps.policyFile));
  }
  proposals.sort((a, b) => b.approvals - a.approvals || pairKey(a).localeCompare(pairKey(b)));
  return {
    policyFile: deps.policyFile,
    apply: APPLY_BY_HAND,
    ...('unreadable' in policy ? { unreadable: policy.unreadable } : {}),
    proposeAfterApprovals: threshold,
    proposals,
  };
}

function pairKey(pair: FixPair): string {
  return JSON.stringify([pair.alertname, pair.tool, pair.resource]);
}

async function readPolicy(path: string): Promise<PolicyText> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { unreadable: `cannot read ${path}: ${(error as Error).message}` };
  }
  try {
    const view = policyViewSchema.safeParse(parse(text) ?? {});
    if (view.success) return { text, view: view.data };
    return { unreadable: `${path} has no usable learning: or preapproved: block` };
  } catch (error) {
    return { unreadable: `${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}` };
  }
}

function propose(
  pair: FixPair,
  runs: (Outcome & { approvedBy: string })[],
  policy: PolicyText,
  path: string,
): PolicyProposal {
  const approvers = [...new Set(runs.map((run) => run.approvedBy))].sort();
  const median = Math.round(summarize(runs).medianSecondsToRecover ?? 0);
  const entry: PreapprovedEntry = {
    ...pair,
    reason: `approved by ${approvers.join(', ')}; verified fixed ${runs.length} of ${runs.length} times`,
  };
  const comment = `# proposed by Hermes: ${runs.length} approved ${pair.tool} runs, all verified fixed, median ${median} s`;
  return {
    ...pair,
    approvals: runs.length,
    approvers,
    medianSecondsToRecover: median,
    evidence: runs.map((run) => ({
      incidentId: run.incidentId,
      actionId: run.actionId,
      target: run.target,
      approvedBy: run.approvedBy,
      at: run.at,
      seconds: run.seconds,
    })),
    entry,
    diff:
      'text' in policy
        ? (preapprovalDiff(policy.text, path, entry, comment) ?? snippet(entry, comment, flowStyleNote(path)))
        : snippet(entry, comment, `${policy.unreadable}; add this to its preapproved: list by hand`),
  };
}

/** A YAML flow mapping whose every value is a double-quoted scalar (JSON's escapes are YAML's too). */
function entryLine(entry: PreapprovedEntry): string {
  const fields = Object.entries(entry).map(([name, value]) => `${name}: ${yamlString(String(value))}`);
  return `- { ${fields.join(', ')} }`;
}

function yamlString(value: string): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u2028\u2029\ufeff]/g,
    (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}

function flowStyleNote(path: string): string {
  return `${path} writes preapproved: in flow style ([...]); add this entry to it by hand`;
}

function snippet(entry: PreapprovedEntry, comment: string, why: string): string {
  return [`# ${why}`, 'preapproved:', `  ${comment}`, `  ${entryLine(entry)}`, ''].join('\n');
}

/**
 * The unified diff that adds `entry` under `preapproved:` in `text` (creating the block at the end
 * when there is none); null when the block is in flow style with entries (no safe place to insert).
 */
export function preapprovalDiff(
  text: string,
  path: string,
  entry: PreapprovedEntry,
  comment: string,
): string | null {
  const endsWithNewline = text === '' || text.endsWith('\n');
  const lines = text === '' ? [] : (endsWithNewline ? text.slice(0, -1) : text).split('\n');
  const header = lines.findIndex((line) => /^preapproved:/.test(line));
  if (header < 0) {
    const block = ['preapproved:', `  ${comment}`, `  ${entryLine(entry)}`];
    const last = lines.at(-1);
    const spacer = last === undefined || last.trim() === '' ? [] : [''];
    // A last line without its newline is replaced by itself with one.
    if (!endsWithNewline && last !== undefined)
      return unifiedDiff(path, lines, endsWithNewline, lines.length - 1, 1, [last, ...spacer, ...block]);
    return unifiedDiff(path, lines, endsWithNewline, lines.length, 0, [...spacer, ...block]);
  }
  const headerLine = lines[header] ?? '';
  const trailing = /\s+#.*$/.exec(headerLine)?.[0] ?? '';
  const value = headerLine.slice('preapproved:'.length, headerLine.length - trailing.length).trim();
  if (value === '[]') {
    const added = [`preapproved:${trailing}`, `  ${comment}`, `  ${entryLine(entry)}`];
    return unifiedDiff(path, lines, endsWithNewline, header, 1, added);
  }
  if (value !== '') return null;
  // The block runs while lines are indented, list items, comments or blank; entries go after its last item.
  let last = header;
  let indent: string | null = null;
  for (let index = header + 1; index < lines.length; index++) {
    const line = lines[index] ?? '';
    if (line.trim() !== '' && !/^[\s#-]/.test(line)) break;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    indent ??= /^(\s*)-/.exec(line)?.[1] ?? null;
    last = index;
  }
  const pad = indent ?? '  ';
  const added = [`${pad}${comment}`, `${pad}${entryLine(entry)}`];
  const lastLine = lines[last] ?? '';
  if (!endsWithNewline && last === lines.length - 1)
    return unifiedDiff(path, lines, endsWithNewline, last, 1, [lastLine, ...added]);
  return unifiedDiff(path, lines, endsWithNewline, last + 1, 0, added);
}

const CONTEXT = 3;
const NO_NEWLINE = '\\ No newline at end of file';

/** One hunk: `removed` lines at `at` replaced by `added`, with three lines of context each side. */
function unifiedDiff(
  path: string,
  lines: readonly string[],
  endsWithNewline: boolean,
  at: number,
  removed: number,
  added: readonly string[],
): string {
  const from = Math.max(0, at - CONTEXT);
  const to = Math.min(lines.length, at + removed + CONTEXT);
  const oldCount = to - from;
  const newCount = oldCount - removed + added.length;
  const start = (count: number) => (count === 0 ? from : from + 1);
  const unterminated = endsWithNewline ? -1 : lines.length - 1;
  const line = (index: number, mark: ' ' | '-') => [
    `${mark}${lines[index] ?? ''}`,
    ...(index === unterminated ? [NO_NEWLINE] : []),
  ];
  const range = (first: number, end: number) => Array.from({ length: end - first }, (_, i) => first + i);
  const body = [
    ...range(from, at).flatMap((index) => line(index, ' ')),
    ...range(at, at + removed).flatMap((index) => line(index, '-')),
    ...added.map((text) => `+${text}`),
    ...range(at + removed, to).flatMap((index) => line(index, ' ')),
  ];
  return [
    `--- ${path}`,
    `+++ ${path}`,
    `@@ -${start(oldCount)},${oldCount} +${start(newCount)},${newCount} @@`,
    ...body,
    '',
  ].join('\n');
}
