/**
 * `npm run eval -- --base-url URL --model NAME [--api-key K] [--runs k] [--worlds DIR...]
 *   [--planner llm|runbook] [--out report.json]`
 * Scores a model (or the runbook planner) on the incident worlds (evals/worlds by default): each runs
 * through the real ingest, triage agent and executor decision code, every read answered from the
 * world's recordings, every change decided against config/policy.yaml in dry-run; nothing is
 * contacted. Prints a progress line per world, then a table. Exits 0 when every world passes^k,
 * 1 when some fail, 2 on bad usage or an unreachable model (nothing scored), 3 on a Hermes defect
 * (the executor allowed a forbidden or out-of-scope request). `--scenarios` runs the old chaos scenarios.
 * EVALS.md says more.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadPolicy } from '../services/executor/policy.js';
import { loadRunbooks } from '../services/triage/planners/runbooks.js';
import { loadAllowlist } from '../services/triage/tools/diagnosis.js';
import { probeModel } from '../shared/model-probe.js';
import { ConfigFileError } from '../shared/yaml-config.js';
import { type FakeOpenAI, startFakeOpenAI } from '../test/support/fake-openai.js';
import { type LocalRedis, startRedisServer } from '../test/support/redis-server.js';
import { evaluate } from './runner/evaluate.js';
import { REFERENCE_MODELS, referenceModel } from './runner/reference-models.js';
import { formatTable, progressLine } from './runner/report.js';
import { runScenarios } from './runner/scenarios-run.js';
import { loadWorlds, type World } from './runner/world.js';

const USAGE = `usage: npm run eval -- [--base-url URL] [--model NAME] [--api-key KEY] [--runs K]
  [--worlds DIR ...] [--only TEXT] [--planner llm|runbook] [--out report.json] [--timeout-seconds N]
  [--reference oracle|malicious|lazy] [--judge-base-url URL --judge-model NAME [--judge-api-key KEY]]
  [--scenarios]   (the old chaos scenarios instead of the worlds)`;

const optionsSchema = z.object({
  'base-url': z.url(),
  model: z.string().min(1),
  'api-key': z.string().min(1),
  runs: z.coerce.number().int().min(1).max(100),
  worlds: z.array(z.string().min(1)).min(1),
  only: z.string().optional(),
  planner: z.enum(['llm', 'runbook']),
  out: z.string().optional(),
  'timeout-seconds': z.coerce.number().int().min(1),
  reference: z.enum(REFERENCE_MODELS).optional(),
  'judge-base-url': z.url().optional(),
  'judge-model': z.string().min(1).optional(),
  'judge-api-key': z.string().min(1).default('none'),
  scenarios: z.boolean(),
  help: z.boolean(),
});

function fail(message: string): never {
  process.stderr.write(`eval: ${message}\n`);
  process.exit(2);
}

const options = (() => {
  try {
    const { values } = parseArgs({
      options: {
        'base-url': { type: 'string', default: process.env.HERMES_BASE_URL ?? 'http://localhost:11434/v1' },
        model: { type: 'string', default: process.env.HERMES_MODEL ?? 'nous-hermes-2-mixtral-8x7b-dpo' },
        'api-key': { type: 'string', default: process.env.HERMES_API_KEY ?? 'ollama' },
        runs: { type: 'string', default: '1' },
        worlds: { type: 'string', multiple: true, default: ['evals/worlds'] },
        only: { type: 'string' },
        planner: { type: 'string', default: 'llm' },
        out: { type: 'string' },
        'timeout-seconds': { type: 'string', default: '300' },
        reference: { type: 'string' },
        'judge-base-url': { type: 'string' },
        'judge-model': { type: 'string' },
        'judge-api-key': { type: 'string' },
        scenarios: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    const parsed = optionsSchema.safeParse(values);
    if (!parsed.success)
      throw new Error(
        parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`).join('; '),
      );
    return parsed.data;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
})();
if (options.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (options['judge-base-url'] && !options['judge-model']) fail('--judge-base-url needs --judge-model');

let worlds: World[] = [];
if (!options.scenarios) {
  try {
    worlds = loadWorlds(options.worlds).filter((w) => !options.only || w.id.includes(options.only));
  } catch (error) {
    if (error instanceof ConfigFileError) fail(error.message);
    throw error;
  }
  if (worlds.length === 0) fail(`no worlds in ${options.worlds.join(', ')}`);
}

const policy = loadPolicy('config/policy.yaml');
const reference: FakeOpenAI | undefined = options.reference
  ? await startFakeOpenAI(referenceModel(options.reference, worlds, policy))
  : undefined;
const baseUrl = reference?.url ?? options['base-url'];
const model = options.reference ? `reference-${options.reference}` : options.model;
const usesModel = options.scenarios || options.planner === 'llm';

// Without a model there is nothing to score: the runbook fallback would answer in its place.
if (usesModel && !reference) {
  const probe = await probeModel(baseUrl, options['api-key'], 10_000);
  if (!probe.ok) {
    process.stderr.write(
      `eval: model ${model} is not reachable (${probe.reason}); nothing was evaluated.\nStart it (ollama serve; ollama pull …) or pass --base-url / --api-key.\n`,
    );
    process.exit(2);
  }
}

const timeoutMs = options['timeout-seconds'] * 1000;
const local: LocalRedis | undefined = process.env.REDIS_URL ? undefined : await startRedisServer();
const redisUrl = process.env.REDIS_URL || (local as LocalRedis).url;
let exitCode: number;
try {
  if (options.scenarios) {
    exitCode = await runScenarios({
      redisUrl,
      baseUrl,
      model,
      apiKey: options['api-key'],
      only: options.only,
      timeoutMs,
    });
  } else {
    const who = options.planner === 'runbook' ? 'the runbook planner' : `${model} at ${baseUrl}`;
    process.stdout.write(
      `Evaluating ${who} on ${worlds.length} worlds${options.runs > 1 ? `, ${options.runs} runs each` : ''}\n`,
    );
    const report = await evaluate(worlds, {
      settings: {
        redisUrl,
        planner: options.planner,
        policyFile: 'config/policy.yaml',
        runbooks: await loadRunbooks('config/runbooks.yaml'),
        allowlist: await loadAllowlist('config/diagnosis-allowlist.yaml'),
        triageEnv: {
          // The agent's budgets and retries as triage reads them (LLM_MAX_ITERATIONS, LLM_TOKEN_BUDGET, …).
          ...Object.fromEntries(
            Object.entries(process.env).filter(
              (entry): entry is [string, string] => entry[0].startsWith('LLM_') && entry[1] !== undefined,
            ),
          ),
          HERMES_BASE_URL: baseUrl,
          HERMES_MODEL: model,
          HERMES_API_KEY: options['api-key'],
          LLM_WALL_CLOCK_SECONDS: String(options['timeout-seconds']),
          LLM_REQUEST_TIMEOUT_MS: String(timeoutMs),
        },
      },
      policy,
      model: options.planner === 'runbook' ? 'runbook' : model,
      runs: options.runs,
      judge:
        options['judge-base-url'] && options['judge-model']
          ? {
              baseURL: options['judge-base-url'],
              model: options['judge-model'],
              apiKey: options['judge-api-key'],
              timeoutMs,
            }
          : undefined,
      onWorld: (world, index) => process.stdout.write(progressLine(index, worlds.length, world)),
    });
    process.stdout.write(formatTable(report));
    if (options.out) {
      writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`report written to ${options.out}\n`);
    }
    exitCode = report.totals.defects > 0 ? 3 : report.totals.passK === report.totals.worlds ? 0 : 1;
  }
} finally {
  await reference?.close();
  await local?.stop();
}
process.exit(exitCode);
