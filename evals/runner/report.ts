import type { WorldOutcome } from './run-world.js';
import { CHECKS, type Check, type WorldScore } from './score.js';

/** One run of one world: what happened and how it scored. */
export interface RunResult {
  outcome: WorldOutcome;
  score: WorldScore;
  /** The optional judge's 1-5 grade of the narrative (not part of passing). */
  judge?: { grade: number; why: string } | { error: string };
}

export interface WorldReport {
  id: string;
  title: string;
  runs: RunResult[];
  /** pass^k: every one of the k runs passed. */
  passK: boolean;
}

export interface EvalReport {
  model: string;
  planner: 'llm' | 'runbook';
  runs: number;
  at: string;
  worlds: WorldReport[];
  /** Totals over the worlds the agent (or runbook) planned in; level-3 ones are Hermes' rule alone. */
  totals: {
    worlds: number;
    passK: number;
    /** Worlds Hermes escalated without asking the planner (level 3, storms): shown, not counted. */
    withoutPlanner: number;
    /** Share (0-1) of the runs a check applies to that passed it; null when it applied to none. */
    checks: Record<Check, number | null>;
    defects: number;
    meanTurns: number;
    meanToolCalls: number;
    meanTokens: number;
    meanWallMs: number;
  };
}

const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);

export function buildReport(
  header: Pick<EvalReport, 'model' | 'planner' | 'runs'>,
  worlds: WorldReport[],
): EvalReport {
  const planned = worlds.filter((world) => world.runs.some((run) => run.outcome.planner !== null));
  const runs = planned.flatMap((world) => world.runs);
  const share = (check: Check) => {
    const scored = runs.flatMap((run) => {
      const pass = run.score.checks[check];
      return pass === null ? [] : [pass ? 1 : 0];
    });
    return scored.length ? mean(scored) : null;
  };
  return {
    ...header,
    at: new Date().toISOString(),
    worlds,
    totals: {
      worlds: planned.length,
      passK: planned.filter((world) => world.passK).length,
      withoutPlanner: worlds.length - planned.length,
      checks: Object.fromEntries(CHECKS.map((check) => [check, share(check)])) as Record<
        Check,
        number | null
      >,
      defects: worlds.reduce(
        (n, world) => n + world.runs.reduce((m, run) => m + run.score.defects.length, 0),
        0,
      ),
      meanTurns: mean(runs.map((run) => run.outcome.turns)),
      meanToolCalls: mean(runs.map((run) => run.outcome.requests.length)),
      meanTokens: mean(runs.map((run) => run.outcome.promptTokens + run.outcome.completionTokens)),
      meanWallMs: mean(runs.map((run) => run.outcome.wallMs)),
    },
  };
}

const HEADINGS: Record<Check, string> = {
  rootCause: 'root cause',
  actions: 'actions',
  escalation: 'escalation',
  safety: 'safety',
  budget: 'budget',
};

/** "PASS", "fail", or "2/3" over the k runs; "n/a" where the check applied to none. */
function cell(results: (boolean | null)[]): string {
  const scored = results.filter((pass) => pass !== null);
  if (scored.length === 0) return 'n/a';
  const passes = scored.filter(Boolean).length;
  if (results.length === 1) return passes === 1 ? 'PASS' : 'fail';
  return `${passes}/${scored.length}`;
}

/** The progress line printed when a world is done. */
export function progressLine(index: number, total: number, world: WorldReport): string {
  const failed = CHECKS.filter((check) => world.runs.some((run) => run.score.checks[check] === false));
  const seconds = mean(world.runs.map((run) => run.outcome.wallMs)) / 1000;
  return `[${index}/${total}] ${world.id}: ${world.passK ? 'PASS' : `FAIL (${failed.map((c) => HEADINGS[c]).join(', ')})`} in ${seconds.toFixed(1)} s\n`;
}

/** The table a person reads: one row per world, the totals, then why each failed world failed. */
export function formatTable(report: EvalReport): string {
  const k = report.runs;
  const head = ['world', `pass^${k}`, ...CHECKS.map((c) => HEADINGS[c]), 'turns', 'tools', 'tokens', 'time'];
  const rows = report.worlds.map((world) => {
    const outcomes = world.runs.map((run) => run.outcome);
    return [
      world.id,
      world.passK ? 'PASS' : 'FAIL',
      ...CHECKS.map((check) => cell(world.runs.map((run) => run.score.checks[check]))),
      mean(outcomes.map((o) => o.turns)).toFixed(1),
      mean(outcomes.map((o) => o.requests.length)).toFixed(1),
      String(Math.round(mean(outcomes.map((o) => o.promptTokens + o.completionTokens)))),
      `${(mean(outcomes.map((o) => o.wallMs)) / 1000).toFixed(1)} s`,
    ];
  });
  const t = report.totals;
  const percent = (share: number | null) => (share === null ? 'n/a' : `${Math.round(share * 100)}%`);
  const total = [
    'TOTAL',
    `${t.passK}/${t.worlds}`,
    ...CHECKS.map((check) => percent(t.checks[check])),
    t.meanTurns.toFixed(1),
    t.meanToolCalls.toFixed(1),
    String(Math.round(t.meanTokens)),
    `${(t.meanWallMs / 1000).toFixed(1)} s`,
  ];
  const all = [head, ...rows, total];
  const widths = head.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    `${row
      .map((value, i) => value.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()}\n`;
  const rule = line(widths.map((w) => '-'.repeat(w)));
  let out = `\n${line(head)}${rule}${rows.map(line).join('')}${rule}${line(total)}`;
  const failures = report.worlds.flatMap((world) =>
    world.runs.flatMap((run, i) =>
      run.score.notes.map((note) => `  ${world.id}${k > 1 ? ` (run ${i + 1})` : ''}: ${note}\n`),
    ),
  );
  if (failures.length) out += `\nWhy:\n${failures.join('')}`;
  const verdicts = report.worlds.flatMap((world) =>
    world.runs.flatMap((run) => (run.judge ? [run.judge] : [])),
  );
  if (verdicts.length) {
    const grades = verdicts.flatMap((v) => ('grade' in v ? [v.grade] : []));
    out += `\nJudge (narrative, 1-5, not part of passing): mean ${mean(grades).toFixed(1)} over ${grades.length} runs${
      grades.length < verdicts.length ? `; ${verdicts.length - grades.length} not graded` : ''
    }\n`;
  }
  if (t.withoutPlanner > 0)
    out += `\n${t.withoutPlanner} level-3 worlds were escalated by Hermes without asking the planner: shown above, not in the total.\n`;
  out += `\n${t.passK}/${t.worlds} worlds pass^${k} for ${report.model} (${report.planner} planner); ${t.defects} Hermes defects.\n`;
  if (t.defects > 0)
    out += `HERMES DEFECT: the executor allowed forbidden or out-of-scope requests:\n${report.worlds
      .flatMap((world) => world.runs.flatMap((run) => run.score.defects.map((d) => `  ${world.id}: ${d}\n`)))
      .join('')}`;
  return out;
}
