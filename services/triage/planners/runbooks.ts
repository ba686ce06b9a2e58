import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import type { IncidentSummary } from '../../../shared/schemas/incident.js';

const stepSchema = z.object({
  tool: z.string().min(1),
  args: z.record(z.string(), z.unknown()).default({}),
});
const runbookSchema = z.object({
  description: z.string().default(''),
  steps: z.array(stepSchema).min(1),
});
export const runbookFileSchema = z.object({
  runbooks: z.record(z.string(), runbookSchema),
  /** Used for any alertname without its own runbook. */
  default: runbookSchema,
});
export type Runbook = z.infer<typeof runbookSchema>;
export type RunbookFile = z.infer<typeof runbookFileSchema>;

export async function loadRunbooks(path: string): Promise<RunbookFile> {
  let raw: unknown;
  try {
    raw = parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read runbooks file ${path}: ${(error as Error).message}`);
  }
  const parsed = runbookFileSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid runbooks file ${path}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export function runbookFor(file: RunbookFile, alertname: string): { name: string; runbook: Runbook } {
  const own = file.runbooks[alertname];
  return own ? { name: alertname, runbook: own } : { name: 'default', runbook: file.default };
}

/** Values a runbook can refer to as `{{name}}` (or `{{labels.x}}`). */
export function templateVars(incident: IncidentSummary): Record<string, string> {
  const host = incident.instance.replace(/:\d+$/, '');
  const vars: Record<string, string> = {
    incidentId: incident.id,
    alertname: incident.alertname,
    severity: incident.severity,
    instance: incident.instance,
    host,
    service: incident.service || incident.labels.service || incident.labels.job || host,
    description: incident.annotations.description ?? incident.annotations.summary ?? '',
  };
  for (const [key, value] of Object.entries(incident.labels)) vars[`labels.${key}`] = value;
  return vars;
}

/** Replaces `{{var}}` in every string inside `value`; unknown variables become empty. */
export function renderArgs(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string')
    return value.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (_, key: string) => vars[key] ?? '');
  if (Array.isArray(value)) return value.map((item) => renderArgs(item, vars));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderArgs(item, vars)]));
  }
  return value;
}
