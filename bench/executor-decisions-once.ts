/**
 * `tsx bench/executor-decisions-once.ts [--learned-rule]`: benchExecutorDecisions alone, in-process
 * only, as one JSON line, so runs of two checkouts can be alternated and compared in one session.
 */
import { benchExecutorDecisions } from './executor-decisions.js';

const result = await benchExecutorDecisions({
  throughQueue: false,
  learnedRule: process.argv.includes('--learned-rule'),
});
process.stdout.write(`${JSON.stringify(result)}\n`);
