/**
 * `npm run eval -- --base-url http://localhost:11434/v1 --model hermes3 [--api-key KEY] [--only disk]`
 * Scores a model on the chaos scenarios: each runs through the real triage worker and the real
 * executor (dry-run: nothing is changed) against a simulated Prometheus and log files, on REDIS_URL
 * or a throwaway local redis-server. Prints a pass table; exits 1 when any check fails, 2 when the
 * model is not reachable (nothing is scored then: the runbook fallback is never taken for the model).
 */
import { parseArgs } from 'node:util';
import { probeModel } from '../../shared/model-probe.js';
import { type LocalRedis, startRedisServer } from '../../test/support/redis-server.js';
import { SCENARIOS } from './scenarios.js';
import { startWorld } from './test/world.js';

const USAGE =
  'usage: npm run eval -- [--base-url URL] [--model NAME] [--api-key KEY] [--only SCENARIO] [--timeout-seconds N]';

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        'base-url': { type: 'string', default: process.env.HERMES_BASE_URL ?? 'http://localhost:11434/v1' },
        model: { type: 'string', default: process.env.HERMES_MODEL ?? 'nous-hermes-2-mixtral-8x7b-dpo' },
        'api-key': { type: 'string', default: process.env.HERMES_API_KEY ?? 'ollama' },
        only: { type: 'string' },
        'timeout-seconds': { type: 'string', default: '300' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
})();
if (values.help) {
  process.stdout.write(`${USAGE}\nScenarios: ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
  process.exit(0);
}

// Without a model there is nothing to score: the runbook fallback would answer in its place.
const probe = await probeModel(values['base-url'], values['api-key'], 10_000);
if (!probe.ok) {
  process.stderr.write(
    `eval: model ${values.model} is not reachable (${probe.reason}); nothing was evaluated.\nStart it (ollama serve; ollama pull …) or pass --base-url / --api-key.\n`,
  );
  process.exit(2);
}

const scenarios = SCENARIOS.filter(
  (s) => !values.only || s.name.toLowerCase().includes(values.only.toLowerCase()),
);
const timeoutMs = Number(values['timeout-seconds']) * 1000;
const local: LocalRedis | undefined = process.env.REDIS_URL ? undefined : await startRedisServer();
const redisUrl = process.env.REDIS_URL ?? (local as LocalRedis).url;

const world = await startWorld({
  redisUrl,
  triageEnv: {
    PLANNER: 'llm',
    HERMES_BASE_URL: values['base-url'],
    HERMES_MODEL: values.model,
    HERMES_API_KEY: values['api-key'],
    LLM_WALL_CLOCK_SECONDS: String(Math.ceil(timeoutMs / 1000)),
    LLM_REQUEST_TIMEOUT_MS: String(timeoutMs),
    LLM_MAX_RETRIES: '1',
    TRIAGE_CONCURRENCY: '1',
  },
});

const rows: { scenario: string; check: string; result: string }[] = [];
let failed = 0;
try {
  process.stdout.write(
    `Evaluating ${values.model} at ${values['base-url']} on ${scenarios.length} scenarios\n`,
  );
  for (const scenario of scenarios) {
    try {
      const { incident, checks } = await world.run(scenario, timeoutMs);
      const fellBack = incident.timeline.some(
        (e) => e.type === 'error' && /falling back/.test(e.message ?? ''),
      );
      // The runbook finished what the model could not: its checks say nothing about the model.
      if (fellBack) {
        failed++;
        rows.push({
          scenario: scenario.name,
          check: 'model answered (it failed mid-incident; the runbook fallback is not scored)',
          result: 'FAIL',
        });
        continue;
      }
      for (const check of checks) {
        if (!check.pass) failed++;
        rows.push({ scenario: scenario.name, check: check.label, result: check.pass ? 'PASS' : 'FAIL' });
      }
    } catch (error) {
      failed++;
      rows.push({ scenario: scenario.name, check: (error as Error).message, result: 'ERROR' });
    }
  }
} finally {
  await world.close();
  await local?.stop();
}

const width = (key: 'scenario' | 'check') => Math.max(key.length, ...rows.map((r) => r[key].length));
const [ws, wc] = [width('scenario'), width('check')];
const line = (s: string, c: string, r: string) => `${s.padEnd(ws)}  ${c.padEnd(wc)}  ${r}\n`;
process.stdout.write(
  `\n${line('scenario', 'check', 'result')}${line('-'.repeat(ws), '-'.repeat(wc), '------')}`,
);
for (const row of rows) process.stdout.write(line(row.scenario, row.check, row.result));
const passed = rows.length - failed;
process.stdout.write(`\n${passed}/${rows.length} checks passed for ${values.model}\n`);
process.exit(failed === 0 ? 0 : 1);
