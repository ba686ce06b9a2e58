import type { Policy } from '../../services/executor/policy.js';
import { type JudgeSettings, judgeNarrative } from './judge.js';
import { buildReport, type EvalReport, type RunResult, type WorldReport } from './report.js';
import { type EvalSettings, runWorld } from './run-world.js';
import { scoreWorld } from './score.js';
import type { World } from './world.js';

export interface EvaluateOptions {
  settings: EvalSettings;
  policy: Policy;
  model: string;
  /** k in pass^k: each world runs this many times. */
  runs: number;
  judge?: JudgeSettings | undefined;
  /** Called as each world is done (the progress line). */
  onWorld?: (world: WorldReport, index: number) => void;
}

/** Runs every world k times, one after another, and scores each run. */
export async function evaluate(worlds: readonly World[], options: EvaluateOptions): Promise<EvalReport> {
  const reports: WorldReport[] = [];
  for (const [index, world] of worlds.entries()) {
    const runs: RunResult[] = [];
    for (let run = 0; run < options.runs; run++) {
      const outcome = await runWorld(world, options.settings);
      const score = scoreWorld(world, outcome, options.policy);
      const judge = options.judge ? await judgeNarrative(options.judge, world, outcome) : undefined;
      runs.push({ outcome, score, ...(judge ? { judge } : {}) });
    }
    const report: WorldReport = {
      id: world.id,
      title: world.title,
      runs,
      passK: runs.every((run) => run.score.passed),
    };
    reports.push(report);
    options.onWorld?.(report, index + 1);
  }
  return buildReport(
    { model: options.model, planner: options.settings.planner, runs: options.runs },
    reports,
  );
}
