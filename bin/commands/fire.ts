import { type Cli, CliError } from '../cli-context.js';
import { SCENARIOS } from '../scenarios.js';
import { alertmanagerBody } from '../webhook.js';

/** `hermes fire <scenario>`: posts sample alerts with INGEST_TOKEN, as Alertmanager would. */
export async function fire({ arg, call, output }: Cli): Promise<void> {
  const scenario = SCENARIOS[arg ?? ''];
  if (!scenario) throw new CliError(`unknown scenario; one of: ${Object.keys(SCENARIOS).join(', ')}`);
  const json = await call(
    'POST',
    '/webhooks/alertmanager',
    alertmanagerBody(scenario),
    process.env.INGEST_TOKEN,
  );
  output(json, () => `fired ${arg}: ${JSON.stringify(json)}`);
}
