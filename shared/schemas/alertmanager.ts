import { z } from 'zod';

/**
 * Label (or annotation) names to string values. One loop instead of z.record(z.string(), z.string()),
 * which runs two schemas per entry: label sets are most of a webhook, and ingest validates every one.
 */
const labelSet = z.custom<Record<string, string>>().superRefine((value, ctx) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'expected an object of string values', continue: false });
    return;
  }
  for (const name in value) {
    if (typeof (value as Record<string, unknown>)[name] !== 'string') {
      ctx.addIssue({ code: 'custom', message: 'expected a string', path: [name] });
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
