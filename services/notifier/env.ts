import { z } from 'zod';
import { baseEnvSchema, envInt, optionalString, optionalUrl } from '../../shared/env.js';

export const notifierEnvSchema = baseEnvSchema
  .extend({
    SLACK_WEBHOOK_URL: optionalUrl,
    SLACK_BOT_TOKEN: optionalString,
    SLACK_CHANNEL: optionalString,
    /** Read by ingest to verify button clicks; listed here so one env file serves every service. */
    SLACK_SIGNING_SECRET: optionalString,
    SLACK_API_URL: z.url().default('https://slack.com/api'),
    PAGERDUTY_ROUTING_KEY: optionalString,
    PAGERDUTY_EVENTS_URL: z.url().default('https://events.pagerduty.com/v2/enqueue'),
    SMTP_URL: optionalUrl,
    EMAIL_FROM: z.string().min(3).default('Hermes DevOps Agent <hermes@localhost>'),
    /** Comma-separated recipients. */
    EMAIL_TO: optionalString,
    /** `event`: one email per notification; `digest`: one email per EMAIL_DIGEST_MINUTES with all of them. */
    EMAIL_MODE: z.enum(['event', 'digest']).default('event'),
    EMAIL_DIGEST_MINUTES: envInt(60, 1),
    /** YAML routing rules replacing the defaults (see services/notifier/routing.ts). */
    NOTIFIER_ROUTES_FILE: optionalString,
    NOTIFIER_CONCURRENCY: envInt(8, 1),
    /** Upper bound on deliveries started per second across all notifier replicas. */
    NOTIFIER_MAX_PER_SECOND: envInt(50, 1),
    NOTIFIER_HTTP_TIMEOUT_MS: envInt(10_000, 100),
    /** Pause after a 429 that carries no usable Retry-After. */
    NOTIFIER_RETRY_AFTER_DEFAULT_MS: envInt(5_000, 0),
    /** Longest pause a Retry-After may impose on the queue. */
    NOTIFIER_RETRY_AFTER_MAX_MS: envInt(10 * 60_000, 0),
    /** How often notices left in the outbox by a process that died are queued, once this old. */
    OUTBOX_RELAY_SECONDS: envInt(10, 1),
  })
  .superRefine((env, ctx) => {
    if (env.SLACK_BOT_TOKEN && !env.SLACK_CHANNEL) {
      ctx.addIssue({
        code: 'custom',
        path: ['SLACK_CHANNEL'],
        message: 'required when SLACK_BOT_TOKEN is set',
      });
    }
    if (env.SMTP_URL && !env.EMAIL_TO) {
      ctx.addIssue({ code: 'custom', path: ['EMAIL_TO'], message: 'required when SMTP_URL is set' });
    }
  });
export type NotifierEnv = z.infer<typeof notifierEnvSchema>;
