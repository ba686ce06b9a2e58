import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { channelSchema, riskSchema } from '../../../shared/schemas/jobs.js';

const name = z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'letters, digits and _.:- only');
/** Left out, triage fills them from the incident's one place (the executor checks them all the same). */
const service = name
  .optional()
  .describe('The service, container or workload; may be left out when the incident is in one place');
const host = name.optional().describe("The alert's host; may be left out when the incident is in one place");

/**
 * Argument shapes only. Safety constraints (age limits, protected paths, rate limits) are the
 * executor's to enforce, so a broken model's unsafe request reaches the boundary and is refused there.
 */
export const TOOL_SCHEMAS = {
  get_service_logs: z.object({
    service,
    host,
    lines: z.number().int().min(1).max(1_000).default(100),
    level: z.enum(['error', 'warn', 'info', 'all']).default('error'),
  }),
  get_metrics: z.object({
    query: z.string().min(1).max(2_000).describe('PromQL expression'),
    duration: z
      .string()
      .regex(/^\d+[smhd]$/, 'a duration like 30m')
      .default('30m')
      .describe('Range to look back over; "0s" for an instant query'),
  }),
  check_system_resources: z.object({
    host,
    check_types: z.array(z.enum(['cpu', 'memory', 'disk'])).default(['cpu', 'memory', 'disk']),
  }),
  run_diagnosis_command: z.object({
    command: z.string().min(1).max(200).describe('Name of an allowlisted read-only command'),
    host,
  }),
  restart_service: z.object({
    service,
    host,
    reason: z.string().max(1_000),
  }),
  clean_disk_space: z.object({
    host,
    paths: z.array(z.string().min(1).max(4_096)).min(1).max(20),
    min_age_days: z.number().int().default(7).describe('Only files older than this (at least 7)'),
    reason: z.string().max(1_000).optional(),
  }),
  scale_service: z.object({
    service,
    replicas: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Desired instance count (at most 2 above baseline)'),
    delta: z.number().int().optional().describe('Or: change relative to now (at most +2)'),
    reason: z.string().max(1_000).optional(),
  }),
  restart_db_pool: z.object({
    service,
    host,
    reason: z.string().max(1_000),
  }),
  restart_consumers: z.object({
    service,
    host,
    reason: z.string().max(1_000),
  }),
  request_human_confirmation: z.object({
    action_description: z.string().min(1).max(2_000),
    reason: z.string().min(1).max(2_000),
    risk_level: riskSchema,
    rollback_plan: z.string().max(2_000).optional(),
    tool: z.string().min(1).max(100).optional().describe('The exact tool you propose a human approves'),
    args: z.record(z.string(), z.unknown()).optional().describe('Arguments for that tool'),
  }),
  send_notification: z.object({
    channel: channelSchema,
    severity: z.enum(['info', 'warning', 'critical']),
    message: z.string().min(1).max(4_000),
  }),
} as const;

export type ToolName = keyof typeof TOOL_SCHEMAS;
export type ToolArgs<T extends ToolName> = z.infer<(typeof TOOL_SCHEMAS)[T]>;
export const TOOL_NAMES = Object.keys(TOOL_SCHEMAS) as ToolName[];

export function isToolName(value: string): value is ToolName {
  return Object.hasOwn(TOOL_SCHEMAS, value);
}

/**
 * The place arguments the shipped policy requires of each state-changing tool: left out, triage fills
 * them from the incident's one place (others stay out: a site's policy may not take them).
 */
export const FILLED_FROM_PLACE: Partial<Record<ToolName, readonly ('host' | 'service')[]>> = {
  restart_service: ['service', 'host'],
  clean_disk_space: ['host'],
  scale_service: ['service'],
  restart_db_pool: ['service'],
  restart_consumers: ['service'],
};

/** Read-only diagnostics that run inside triage. */
export const DIAGNOSTIC_TOOLS: ReadonlySet<ToolName> = new Set([
  'get_service_logs',
  'get_metrics',
  'check_system_resources',
  'run_diagnosis_command',
]);

const DESCRIPTIONS: Record<ToolName, string> = {
  get_service_logs: 'Get recent logs for a service',
  get_metrics: 'Query Prometheus metrics (range query over `duration`)',
  check_system_resources: 'Check CPU, memory and disk usage of a host (node-exporter metrics)',
  run_diagnosis_command: 'Run one allowlisted read-only diagnosis command',
  restart_service: 'Restart a service (SAFE, rate-limited to 3 per service per hour)',
  clean_disk_space: 'Clean old log files (SAFE, only files at least 7 days old under allowed roots)',
  scale_service: 'Temporarily scale a service up (SAFE, at most 2 instances above baseline)',
  restart_db_pool: 'Restart the database connection pool of a service (SAFE, rate-limited)',
  restart_consumers: 'Restart the queue consumers of a service (SAFE, rate-limited)',
  request_human_confirmation:
    'Request human approval before a risky action; name the exact tool and args you propose',
  send_notification: 'Send a notification to the team',
};

/** OpenAI tool definitions, generated once from the zod schemas. */
export const TOOL_DEFINITIONS: ChatCompletionFunctionTool[] = TOOL_NAMES.map((tool) => {
  const { $schema: _ignored, ...parameters } = z.toJSONSchema(TOOL_SCHEMAS[tool], { io: 'input' }) as Record<
    string,
    unknown
  >;
  return { type: 'function', function: { name: tool, description: DESCRIPTIONS[tool], parameters } };
});
