import { z } from 'zod';
import { HermesError } from '../../../../shared/errors.js';
import { loadYamlConfig } from '../../../../shared/yaml-config.js';

/** A value written in the file, or read from the environment at start-up (for secrets). */
const valueSchema = z.union([
  z.string().max(4_000),
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }),
]);
export type ConfigValue = z.infer<typeof valueSchema>;

const toolNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'a tool name is 1-64 characters of [A-Za-z0-9_-]');

const transportSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('stdio'),
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), valueSchema).default({}),
  }),
  z.strictObject({
    type: z.literal('http'),
    url: z.url({ protocol: /^https?$/, error: 'url is an http(s) URL' }),
    headers: z.record(z.string(), valueSchema).default({}),
  }),
]);

/**
 * `match`: argument name → the value it must have: a literal, or `{{host}}`, `{{service}}`,
 * `{{instance}}` for one of the incident's own (left out, it is filled when the incident has one).
 */
const toolSchema = z.strictObject({
  match: z
    .record(
      z.string().min(1),
      z.string().refine((v) => !/\{\{/.test(v) || /^\{\{(host|service|instance)\}\}$/.test(v), {
        message: 'a placeholder is {{host}}, {{service}} or {{instance}}, alone',
      }),
    )
    .default({}),
});

const serverSchema = z.strictObject({
  transport: transportSchema,
  /** The only tools offered, each still only if its server annotates it readOnlyHint: true. */
  tools: z.record(
    toolNameSchema,
    toolSchema.nullable().transform((tool) => tool ?? { match: {} }),
  ),
  timeout_ms: z.number().int().min(100).max(300_000).default(10_000),
  max_output_chars: z.number().int().min(100).max(1_000_000).default(8_000),
});

const fileSchema = z.strictObject({
  servers: z.record(
    z.string().regex(/^[a-z0-9_-]{1,32}$/, 'a server name is 1-32 characters of [a-z0-9_-]'),
    serverSchema,
  ),
});
export type McpServersConfig = z.infer<typeof fileSchema>;
export type McpServerConfig = z.infer<typeof serverSchema>;

/** MCP_SERVERS_FILE, validated; a problem stops triage with its file, line and field. */
export function loadMcpServers(path: string): McpServersConfig {
  const config = loadYamlConfig(path, fileSchema, 'MCP servers (MCP_SERVERS_FILE)');
  for (const [server, { transport }] of Object.entries(config.servers)) {
    const values = transport.type === 'stdio' ? transport.env : transport.headers;
    for (const [key, value] of Object.entries(values))
      resolveValue(value, `${path}: MCP server ${server} ${key}`);
  }
  return config;
}

/** A configured value, a secret read from the environment; a missing one is a start-up error. */
export function resolveValue(value: ConfigValue, where: string): string {
  if (typeof value === 'string') return value;
  const found = process.env[value.env];
  if (found === undefined) throw new McpConfigError(`${where}: environment variable ${value.env} is not set`);
  return found;
}

export class McpConfigError extends HermesError {}
