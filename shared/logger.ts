import pino, { type Logger } from 'pino';

/** Paths pino must never print: tokens, keys, secrets, auth headers, anywhere in a log object. */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["x-slack-signature"]',
  'routing_key',
  '*.routing_key',
  'HERMES_API_KEY',
  'INGEST_TOKEN',
  'ADMIN_TOKEN',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_WEBHOOK_URL',
  'PAGERDUTY_ROUTING_KEY',
  'SMTP_URL',
  '*.HERMES_API_KEY',
  '*.INGEST_TOKEN',
  '*.ADMIN_TOKEN',
  '*.SLACK_BOT_TOKEN',
  '*.SLACK_SIGNING_SECRET',
  '*.SLACK_WEBHOOK_URL',
  '*.PAGERDUTY_ROUTING_KEY',
  '*.SMTP_URL',
];

export function createLogger(service: string, level = 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: service,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
