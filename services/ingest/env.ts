import { z } from 'zod';
import { DEFAULT_AUDIT_MAX_ENTRIES } from '../../shared/audit-chain.js';
import { baseEnvSchema, envInt, optionalString, optionalUrl } from '../../shared/env.js';
import { DEFAULT_OUTCOMES_MAX_AGE_DAYS } from '../../shared/outcomes.js';
import { DEFAULT_CORRELATION_LABELS } from './correlation.js';

export const ingestEnvSchema = baseEnvSchema.extend({
  PORT: envInt(8080),
  HOST: z.string().default('0.0.0.0'),
  INGEST_TOKEN: optionalString,
  /** Break-glass admin token: may act as anyone, and every use is marked as such. */
  ADMIN_TOKEN: optionalString,
  /** YAML of named credentials (name, role, token_hash) for the API, console, Bull Board and CLI. */
  USERS_FILE: optionalString,
  /** A read-only token for MCP clients (and the API's reads), recorded as mcp-token. */
  MCP_TOKEN: optionalString,
  /** Read to show where each incident is; a bad file is reported on incidents, never stops intake. */
  TARGETS_FILE: z.string().min(1).default('config/targets.yaml'),
  /**
   * The executor's policy (same name and default as the executor's), read, never written: to propose
   * changes to it, and its `widespread:` block (fleet incidents).
   */
  POLICY_FILE: z.string().min(1).default('config/policy.yaml'),
  /** Where set, how many targets a resource's job has (`count(up{job=…})`): the fleet rule minFraction. */
  PROMETHEUS_URL: optionalUrl,
  SLACK_SIGNING_SECRET: optionalString,
  MAX_BODY_BYTES: envInt(4 * 1024 * 1024, 1024),
  /** YAML file overriding alertname → level, the default level and the correlation labels. */
  CLASSIFICATION_FILE: optionalString,
  /** Labels whose values group alerts into one incident; `a|b` takes the first label present. */
  CORRELATION_LABELS: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_|]*(,[A-Za-z_][A-Za-z0-9_|]*)*$/, 'comma-separated label names')
    .default(DEFAULT_CORRELATION_LABELS),
  STORM_THRESHOLD: envInt(50, 1),
  STORM_WINDOW_SECONDS: envInt(60, 1),
  /** Per storm: at most this many critical alerts get their own investigation (and only while fewer wait). */
  STORM_TRIAGE_BUDGET: envInt(20, 0),
  DEDUP_TTL_SECONDS: envInt(30 * 24 * 3600, 60),
  /** Recorded alerts each ingest process remembers, to answer their re-sends without Redis (0: off). */
  DEDUP_CACHE_SIZE: envInt(50_000, 0),
  /** Where people open Prometheus (the alert's graph link), when it differs from the rules' own URL. */
  PROMETHEUS_EXTERNAL_URL: optionalUrl,
  /** Grafana, for each incident's Explore link on its alert expression (a dashboard_url annotation wins). */
  GRAFANA_URL: optionalUrl,
  /** The executor's AUDIT_MAX_ENTRIES, as this verifier knows it: a trimmed chain never keeps fewer. */
  AUDIT_MAX_ENTRIES: envInt(DEFAULT_AUDIT_MAX_ENTRIES, 100),
  /** The executor's OUTCOMES_MAX_AGE_DAYS: how far back outcomes, history and proposals read. */
  OUTCOMES_MAX_AGE_DAYS: envInt(DEFAULT_OUTCOMES_MAX_AGE_DAYS, 1),
});
export type IngestEnv = z.infer<typeof ingestEnvSchema>;
