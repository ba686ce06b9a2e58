import { z } from 'zod';
import { DEFAULT_AUDIT_MAX_ENTRIES } from '../../shared/audit-chain.js';
import { baseEnvSchema, envInt, optionalString } from '../../shared/env.js';
import { DEFAULT_OUTCOMES_MAX_AGE_DAYS } from '../../shared/outcomes.js';
import { executionModeSchema } from '../../shared/schemas/jobs.js';

export const executorEnvSchema = baseEnvSchema.extend({
  POLICY_FILE: z.string().min(1).default('config/policy.yaml'),
  TARGETS_FILE: z.string().min(1).default('config/targets.yaml'),
  /** Dry-run unless the operator says live: decisions are taken and recorded, nothing runs. */
  EXECUTION_MODE: executionModeSchema.default('dry-run'),
  EXECUTOR_CONCURRENCY: envInt(4, 1),
  /** How long a human has to answer an approval request. */
  APPROVAL_TTL_SECONDS: envInt(30 * 60, 1),
  /** Audit entries kept in Redis; older ones are dropped (the retained chain still verifies). */
  AUDIT_MAX_ENTRIES: envInt(DEFAULT_AUDIT_MAX_ENTRIES, 100),
  /** A file every audit entry's number and hash is appended to (besides the log): a witness outside Redis. */
  AUDIT_WITNESS_FILE: optionalString,
  APPROVAL_SWEEP_SECONDS: envInt(5, 1),
  /** How long fixes' verdicts (outcomes) are kept. */
  OUTCOMES_MAX_AGE_DAYS: envInt(DEFAULT_OUTCOMES_MAX_AGE_DAYS, 1),
});
export type ExecutorEnv = z.infer<typeof executorEnvSchema>;
