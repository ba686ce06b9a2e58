import { ingestEnvSchema } from '../services/ingest/env.js';
import { redactUrlCredentials } from '../shared/redact.js';

const ALL_INTERFACES = new Set(['0.0.0.0', '::']);

/** Where ingest listens (its own defaults), and the base URL that reaches it from this machine. */
function ingestAddress(env: NodeJS.ProcessEnv): { listen: string; base: string; everywhere: boolean } {
  const host = ingestEnvSchema.shape.HOST.parse(env.HOST);
  const port = ingestEnvSchema.shape.PORT.parse(env.PORT);
  const hostPort = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const everywhere = ALL_INTERFACES.has(host);
  const base = everywhere ? `http://127.0.0.1:${port}` : `http://${hostPort}`;
  return {
    listen: everywhere ? `${hostPort}, all interfaces (HOST); from this machine: ${base}` : hostPort,
    base,
    everywhere,
  };
}

/**
 * What `npm start` tells its user first: the mode, where everything is, and what is not configured
 * (and so what Hermes does instead). `modelReachable` is the start script's own probe of the model.
 */
export function banner(env: NodeJS.ProcessEnv, modelReachable: boolean | undefined): string[] {
  const { listen, base, everywhere } = ingestAddress(env);
  const unsetTokens = ['INGEST_TOKEN', 'ADMIN_TOKEN'].filter((name) => !env[name]);
  const planner = env.PLANNER ?? 'auto';
  const model = redactUrlCredentials(env.HERMES_BASE_URL ?? 'http://localhost:11434/v1');
  const missing: string[] = [];
  if (unsetTokens.length)
    missing.push(`${unsetTokens.join(', ')}: the webhook, API and console answer this machine only`);
  if (!env.SLACK_WEBHOOK_URL && !env.SLACK_BOT_TOKEN && !env.PAGERDUTY_ROUTING_KEY && !env.SMTP_URL)
    missing.push('SLACK_*, PAGERDUTY_ROUTING_KEY, SMTP_URL: notifications are log lines here');
  if (!env.PROMETHEUS_URL)
    missing.push(
      "PROMETHEUS_URL: fixes are verified from Alertmanager's resolved reports; no metrics for diagnosis",
    );
  if (planner === 'auto' && modelReachable === false)
    missing.push(
      `model at ${model} not reachable (HERMES_BASE_URL): the runbook planner diagnoses until it is`,
    );
  return [
    `mode:     EXECUTION_MODE=${env.EXECUTION_MODE}${
      env.EXECUTION_MODE === 'live'
        ? ' (fixes run)'
        : ' (decisions are recorded, nothing runs; EXECUTION_MODE=live to act)'
    }`,
    `planner:  ${planner}${planner === 'runbook' ? '' : `, model ${env.HERMES_MODEL ?? 'nous-hermes-2-mixtral-8x7b-dpo'} at ${model}`}`,
    `redis:    ${redactUrlCredentials(env.REDIS_URL ?? env.REDIS_CLUSTER_NODES ?? '')}`,
    `listen:   ${listen}`,
    ...(everywhere && unsetTokens.length
      ? [
          `warning:  every interface, but ${unsetTokens.join(', ')} ${unsetTokens.length > 1 ? 'are' : 'is'} not set: other machines get 401; set ${unsetTokens.length > 1 ? 'them' : 'it'}, or HOST=127.0.0.1`,
        ]
      : []),
    `webhook:  ${base}/webhooks/alertmanager`,
    `console:  ${base}/ui   (CLI: npx hermes status)`,
    `queues:   ${base}/admin/queues   metrics: ${base}/metrics`,
    ...(missing.length
      ? ['not configured:', ...missing.map((line) => `  - ${line}`)]
      : ['everything optional is configured']),
  ];
}
