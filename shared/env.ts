import { z } from 'zod';
import { HermesError } from './errors.js';
import { redactUrlCredentials } from './redact.js';
import { topologyLabelsSchema } from './targets/drivers/topology.js';

/** Env values arrive as strings; these coerce them and say clearly what was wrong. */
export const envInt = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
export const envBool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
export const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));
export const optionalUrl = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v))
  .pipe(z.url().optional());

/** Variables every service reads. */
export const baseEnvSchema = z.object({
  REDIS_URL: optionalUrl,
  REDIS_CLUSTER_NODES: optionalString,
  HERMES_PREFIX: z
    .string()
    .regex(/^[a-z0-9-]{1,32}$/, 'lowercase letters, digits and dashes only')
    .default('hermes'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  METRICS_PORT: envInt(0),
  REDIS_CONNECT_TIMEOUT_SECONDS: envInt(30, 1),
  /** The alert labels a place's region and zone come from when its target has no `topology:`. */
  TOPOLOGY_LABELS: topologyLabelsSchema,
});
export type BaseEnv = z.infer<typeof baseEnvSchema>;

export class EnvError extends HermesError {}

/** Parses env against a schema; the error message is one line naming each bad variable. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(env)';
    const value = env[name];
    const shown = value === undefined ? '' : ` (got ${JSON.stringify(redactValue(name, value))})`;
    return `${name}: ${issue.message}${shown}`;
  });
  throw new EnvError(`invalid configuration: ${problems.join('; ')}`);
}

/** For a service's main: print the single line and stop. */
export function loadEnvOrExit<S extends z.ZodType>(schema: S): z.infer<S> {
  try {
    return parseEnv(schema);
  } catch (error) {
    if (error instanceof EnvError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}

const SECRET_NAME = /TOKEN|SECRET|KEY|PASSWORD|SMTP_URL|WEBHOOK_URL/;
function redactValue(name: string, value: string): string {
  return SECRET_NAME.test(name) ? '[redacted]' : redactUrlCredentials(value);
}
