import { z } from 'zod';

const labelSet = z.record(z.string(), z.string());

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
