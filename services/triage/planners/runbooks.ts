import { z } from 'zod';
import { describeIncident } from '../../../shared/describe-incident.js';
import type { IncidentSummary } from '../../../shared/schemas/incident.js';
import { loadYamlConfig, parseYamlConfig } from '../../../shared/yaml-config.js';
import { TOOL_NAMES, TOOL_SCHEMAS, type ToolName } from '../tools/schemas.js';

const stepSchema = z.strictObject({
  tool: z.enum(TOOL_NAMES),
  args: z.record(z.string(), z.unknown()).default({}),
});
const runbookSchema = z.strictObject({
  description: z.string().default(''),
  steps: z.array(stepSchema).min(1),
});
export const runbookFileSchema = z.strictObject({
  runbooks: z.record(z.string(), runbookSchema),
  /** Used for any alertname without its own runbook. */
  default: runbookSchema,
});
export type Runbook = z.infer<typeof runbookSchema>;
export type RunbookStep = z.infer<typeof stepSchema>;
export type RunbookFile = z.infer<typeof runbookFileSchema>;

/** RUNBOOKS_FILE read once (the eval); a bad one throws with the file, line and problem. */
export async function loadRunbooks(path: string): Promise<RunbookFile> {
  return loadYamlConfig(path, runbookFileSchema, 'runbooks (RUNBOOKS_FILE)');
}

/** RUNBOOKS_FILE; a bad one is refused with the file, line and problem (an unknown tool lists the known ones). */
export function parseRunbooks(text: string, path: string): RunbookFile {
  return parseYamlConfig(text, path, runbookFileSchema, 'runbooks (RUNBOOKS_FILE)');
}

export function runbookFor(file: RunbookFile, alertname: string): { name: string; runbook: Runbook } {
  const own = file.runbooks[alertname];
  return own ? { name: alertname, runbook: own } : { name: 'default', runbook: file.default };
}

/**
 * Values a runbook can refer to as `{{name}}` (or `{{labels.x}}`). `resource`: what the incident's
 * one target acts on (a container, a workload, the unit), which `{{service}}` is, so the runbook
 * asks for what the executor will act on, whatever the alert's labels call it.
 */
export function templateVars(incident: IncidentSummary, resource?: string | null): Record<string, string> {
  const host = incident.instance.replace(/:\d+$/, '');
  const vars: Record<string, string> = {
    incidentId: incident.id,
    alertname: incident.alertname,
    severity: incident.severity,
    instance: incident.instance,
    host,
    service: resource || incident.service || incident.labels.service || incident.labels.job || host,
    description: incident.annotations.description ?? incident.annotations.summary ?? '',
    incident: describeIncident(incident),
  };
  for (const [key, value] of Object.entries(incident.labels)) vars[`labels.${key}`] = value;
  return vars;
}

/** Tools that have nothing to look at without a host, whatever their schema lets the model leave out. */
const NEEDS_HOST: ReadonlySet<ToolName> = new Set(['check_system_resources']);

const TEMPLATE = /\{\{\s*([\w.-]+)\s*\}\}/g;

/**
 * A step's arguments for this incident. A templated argument that renders empty is never sent: left
 * out when the tool can do without it, otherwise `skip` says why the step cannot run.
 */
export function stepArgs(
  step: RunbookStep,
  vars: Record<string, string>,
): { args: Record<string, unknown> } | { skip: string } {
  const shape: Record<string, z.ZodType> = TOOL_SCHEMAS[step.tool].shape;
  const args: Record<string, unknown> = {};
  for (const [key, template] of Object.entries(step.args)) {
    const value = renderArgs(template, vars);
    if (typeof template !== 'string' || !template.match(TEMPLATE) || value !== '') {
      args[key] = value;
      continue;
    }
    if (shape[key]?.safeParse(undefined).success === false || (key === 'host' && NEEDS_HOST.has(step.tool)))
      return { skip: emptyReason(key, template) };
  }
  return { args };
}

function emptyReason(key: string, template: string): string {
  const names = [...template.matchAll(TEMPLATE)].map(([, name]) => name);
  if (names.some((name) => name === 'host' || name === 'instance'))
    return `it needs a ${key} and the incident names none (no instance label)`;
  return `it needs a ${key} and ${names.map((name) => `{{${name}}}`).join(', ')} is empty for this incident`;
}

/** Replaces `{{var}}` in every string inside `value`; unknown variables become empty. */
export function renderArgs(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string') return value.replace(TEMPLATE, (_, key: string) => vars[key] ?? '');
  if (Array.isArray(value)) return value.map((item) => renderArgs(item, vars));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderArgs(item, vars)]));
  }
  return value;
}
