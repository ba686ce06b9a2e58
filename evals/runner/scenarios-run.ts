import { SCENARIOS } from '../../services/triage/scenarios.js';
import { startWorld } from '../../test/support/scenario-world.js';

/**
 * The chaos scenarios (`--scenarios`): each runs through the real triage worker and the real executor
 * (live, on recording backends) against a simulated Prometheus and log files. Prints a pass table;
 * returns the process exit code (0: every check passed, 1: some failed).
 */
export async function runScenarios(options: {
  redisUrl: string;
  baseUrl: string;
  model: string;
  apiKey: string;
  only: string | undefined;
  timeoutMs: number;
}): Promise<number> {
  const scenarios = SCENARIOS.filter(
    (s) => !options.only || s.name.toLowerCase().includes(options.only.toLowerCase()),
  );
  const world = await startWorld({
    redisUrl: options.redisUrl,
    triageEnv: {
      PLANNER: 'llm',
      HERMES_BASE_URL: options.baseUrl,
      HERMES_MODEL: options.model,
      HERMES_API_KEY: options.apiKey,
      LLM_WALL_CLOCK_SECONDS: String(Math.ceil(options.timeoutMs / 1000)),
      LLM_REQUEST_TIMEOUT_MS: String(options.timeoutMs),
      LLM_MAX_RETRIES: '1',
      TRIAGE_CONCURRENCY: '1',
    },
  });

  const rows: { scenario: string; check: string; result: string }[] = [];
  let failed = 0;
  try {
    process.stdout.write(
      `Evaluating ${options.model} at ${options.baseUrl} on ${scenarios.length} scenarios\n`,
    );
    for (const scenario of scenarios) {
      try {
        const { incident, checks } = await world.run(scenario, options.timeoutMs);
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
  }

  const width = (key: 'scenario' | 'check') => Math.max(key.length, ...rows.map((r) => r[key].length));
  const [ws, wc] = [width('scenario'), width('check')];
  const line = (s: string, c: string, r: string) => `${s.padEnd(ws)}  ${c.padEnd(wc)}  ${r}\n`;
  process.stdout.write(
    `\n${line('scenario', 'check', 'result')}${line('-'.repeat(ws), '-'.repeat(wc), '------')}`,
  );
  for (const row of rows) process.stdout.write(line(row.scenario, row.check, row.result));
  const passed = rows.length - failed;
  process.stdout.write(`\n${passed}/${rows.length} checks passed for ${options.model}\n`);
  return failed === 0 ? 0 : 1;
}
