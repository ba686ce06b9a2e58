import { z } from 'zod';
import { baseEnvSchema, envInt, optionalString, optionalUrl } from '../../shared/env.js';
import { DEFAULT_OUTCOMES_MAX_AGE_DAYS } from '../../shared/outcomes.js';

export const triageEnvSchema = baseEnvSchema.extend({
  HERMES_BASE_URL: z.url().default('http://localhost:11434/v1'),
  HERMES_API_KEY: z.string().min(1).default('ollama'),
  HERMES_MODEL: z.string().min(1).default('nous-hermes-2-mixtral-8x7b-dpo'),
  PLANNER: z.enum(['auto', 'llm', 'runbook']).default('auto'),
  PROMETHEUS_URL: optionalUrl,
  TRIAGE_CONCURRENCY: envInt(4, 1),
  /**
   * How long a triage worker's job lock lasts, and how often stalled jobs (a worker that died) are
   * looked for; also how often incidents whose triage job ended without moving them are failed.
   */
  TRIAGE_LOCK_SECONDS: envInt(30, 1),
  TARGETS_FILE: z.string().min(1).default('config/targets.yaml'),
  RUNBOOKS_FILE: z.string().min(1).default('config/runbooks.yaml'),
  DIAGNOSIS_ALLOWLIST_FILE: z.string().min(1).default('config/diagnosis-allowlist.yaml'),
  /** Directory of `<service>.log` files. */
  LOG_DIR: optionalString,
  /** Explicit log files: `service=/path/file.log,other=/path/other.log` (wins over LOG_DIR). */
  LOG_SOURCES: optionalString,
  /** External MCP servers whose allowlisted read-only tools the model may use (YAML). */
  MCP_SERVERS_FILE: optionalString,
  LLM_MAX_ITERATIONS: envInt(25, 1),
  LLM_TOKEN_BUDGET: envInt(60_000, 1),
  LLM_WALL_CLOCK_SECONDS: envInt(300, 1),
  LLM_REQUEST_TIMEOUT_MS: envInt(60_000, 100),
  LLM_MAX_RETRIES: envInt(2, 0),
  /** How long an `auto` probe result of the model endpoint is trusted. */
  LLM_PROBE_TTL_SECONDS: envInt(30, 0),
  LLM_PROBE_TIMEOUT_MS: envInt(2_000, 50),
  TOOL_OUTPUT_MAX_CHARS: envInt(4_000, 200),
  ACTION_TIMEOUT_MS: envInt(120_000, 100),
  DIAGNOSIS_TIMEOUT_MS: envInt(5_000, 100),
  VERIFY_WINDOW_SECONDS: envInt(120, 0),
  VERIFY_INTERVAL_MS: envInt(5_000, 10),
  /**
   * How far back the model's prompt and the runbook planner look at a place's earlier fixes (keep it
   * equal to the policy's learning.windowSeconds).
   */
  HISTORY_WINDOW_SECONDS: envInt(14_400, 1),
  /** The executor's OUTCOMES_MAX_AGE_DAYS: how far back a place's history is read. */
  OUTCOMES_MAX_AGE_DAYS: envInt(DEFAULT_OUTCOMES_MAX_AGE_DAYS, 1),
});
export type TriageEnv = z.infer<typeof triageEnvSchema>;
