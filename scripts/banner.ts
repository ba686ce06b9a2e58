import { redactUrlCredentials } from '../shared/redact.js';

/**
 * What `npm start` tells its user first: the mode, where everything is, and what is not configured
 * (and so what Hermes does instead). `modelReachable` is the start script's own probe of the model.
 */
export function banner(env: NodeJS.ProcessEnv, modelReachable: boolean | undefined): string[] {
  const base = `http://127.0.0.1:${env.PORT ?? 8080}`;
  const planner = env.PLANNER ?? 'auto';
  const model = redactUrlCredentials(env.HERMES_BASE_URL ?? 'http://localhost:11434/v1');
  const missing: string[] = [];
  // Named tokens (USERS_FILE) open the API and console as ADMIN_TOKEN does.
  const apiOpen = !env.ADMIN_TOKEN && !env.USERS_FILE;
  if (apiOpen || !env.INGEST_TOKEN)
    missing.push(
      `${[!env.INGEST_TOKEN && 'INGEST_TOKEN', apiOpen && 'ADMIN_TOKEN'].filter(Boolean).join(', ')}: the webhook, API and console answer this machine only`,
    );
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
    `webhook:  ${base}/webhooks/alertmanager`,
    `console:  ${base}/ui   (CLI: npx hermes status)`,
    `queues:   ${base}/admin/queues   metrics: ${base}/metrics`,
    ...(missing.length
      ? ['not configured:', ...missing.map((line) => `  - ${line}`)]
      : ['everything optional is configured']),
  ];
}
