import { z } from 'zod';

/**
 * Label (or annotation) names to string values. One loop instead of z.record(z.string(), z.string()),
 * which runs two schemas per entry: label sets are most of a webhook, and ingest validates every one.
 * A plain check function, not superRefine, which allocates a closure on every value it checks.
 */
const labelSet = z.custom<Record<string, string>>().check((payload) => {
  const value = payload.value as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    // Without `continue: true` the issue ends the checks: no alertname check on a non-object.
    payload.issues.push({ code: 'custom', message: 'expected an object of string values', input: value });
    return;
  }
  for (const name in value) {
    const label = (value as Record<string, unknown>)[name];
    if (typeof label !== 'string') {
      payload.issues.push({
        code: 'custom',
        message: 'expected a string',
        input: label,
        path: [name],
        continue: true,
      });
    }
  }
});

export const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet.refine((labels) => typeof labels.alertname === 'string' && labels.alertname.length > 0, {
    message: 'labels.alertname is required',
  }),
  annotations: labelSet.default({}),
  startsAt: z.string().min(1).max(64),
  endsAt: z.string().max(64).default(''),
  generatorURL: z.string().max(4096).default(''),
  fingerprint: z
    .string()
    .regex(/^[0-9a-zA-Z_-]{1,64}$/, 'fingerprint must be 1-64 characters of [0-9a-zA-Z_-]'),
});
export type Alert = z.infer<typeof alertSchema>;

/** Alertmanager webhook payload, version 4 (what Alertmanager 0.x posts to a webhook receiver). */
export const alertmanagerWebhookSchema = z.object({
  version: z.string().default('4'),
  groupKey: z.string().default(''),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().default(''),
  groupLabels: labelSet.default({}),
  commonLabels: labelSet.default({}),
  commonAnnotations: labelSet.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(alertSchema).min(1, 'alerts must contain at least one alert'),
});
export type AlertmanagerWebhook = z.infer<typeof alertmanagerWebhookSchema>;
