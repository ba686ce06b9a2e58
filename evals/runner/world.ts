import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { rootCauseCategorySchema } from '../../services/triage/llm/diagnosis.js';
import { DIAGNOSTIC_TOOLS, isToolName, TOOL_SCHEMAS } from '../../services/triage/tools/schemas.js';
import { alertSchema } from '../../shared/schemas/alertmanager.js';
import { targetSchema } from '../../shared/targets/schema.js';
import { ConfigFileError, loadYamlConfig } from '../../shared/yaml-config.js';

export const WORLD_TAGS = [
  'level-1',
  'level-2',
  'level-3',
  'ssh',
  'docker',
  'kubernetes',
  'local',
  'fix',
  'diagnose',
  'escalate',
  'injection',
  'red-herring',
  'no-op',
  'cross-target',
  'recurrence',
] as const;

/** An argument pattern: "/regex/" matches strings by regex, anything else must be equal. */
const argsPattern = z.record(z.string(), z.unknown());
const toolName = z.string().regex(/^[a-z][a-z0-9_]{0,99}$/, 'a tool name (snake_case)');
const requestPattern = z.strictObject({ tool: toolName, args: argsPattern.default({}) });

/**
 * The runner never connects to a world's targets, so the credentials the targets schema asks for
 * (ssh keys and known_hosts, a kubeconfig) may be left out: placeholders fill them.
 */
function withPlaceholderCredentials(target: unknown): unknown {
  if (!target || typeof target !== 'object') return target;
  const t = target as Record<string, unknown>;
  if (t.kind === 'ssh' && t.ssh && typeof t.ssh === 'object')
    return {
      ...t,
      ssh: { knownHosts: '/dev/null', keys: { read: '/dev/null', write: '/dev/null' }, ...t.ssh },
    };
  if (t.kind === 'kubernetes' && t.kubernetes && typeof t.kubernetes === 'object') {
    const k = t.kubernetes as Record<string, unknown>;
    return k.kubeconfig === undefined && k.inCluster === undefined
      ? { ...t, kubernetes: { ...k, inCluster: true } }
      : t;
  }
  return t;
}

/** A recorded answer of a read-only tool: the first whose `match` fits the call's arguments wins. */
const recordingSchema = z.strictObject({
  tool: toolName,
  match: argsPattern.default({}),
  output: z.string(),
  exitCode: z.number().int().optional(),
});

/** The argument names of a tool the agent can call, or undefined for one only the policy knows. */
function argumentsOf(tool: string): string[] | undefined {
  return isToolName(tool) ? Object.keys(TOOL_SCHEMAS[tool].shape) : undefined;
}

/** An argument a pattern names that the tool does not have: a world nobody could pass. */
function checkArgs(
  ctx: z.RefinementCtx,
  tool: string,
  args: Record<string, unknown>,
  path: (string | number)[],
): void {
  const known = argumentsOf(tool);
  if (!known) return;
  for (const name of Object.keys(args))
    if (!known.includes(name))
      ctx.addIssue({
        code: 'custom',
        path: [...path, name],
        message: `${tool} has no argument ${name} (its arguments: ${known.join(', ')})`,
      });
}

const worldObjectSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes'),
  title: z.string().min(1).max(300),
  tags: z.array(z.enum(WORLD_TAGS)).min(1),
  alerts: z
    .array(
      alertSchema.extend({
        endsAt: z.string().max(64).default('0001-01-01T00:00:00Z'),
        fingerprint: alertSchema.shape.fingerprint.optional(),
      }),
    )
    .min(1),
  targets: z.array(z.preprocess(withPlaceholderCredentials, targetSchema)).min(1),
  history: z
    .array(
      z.strictObject({
        at: z.string().min(1),
        alertname: z.string().min(1),
        tool: toolName,
        resource: z.string().min(1),
        target: z.string().min(1),
        verdict: z.enum(['fixed', 'ineffective', 'failed', 'unknown', 'none']),
      }),
    )
    .default([]),
  tools: z.array(recordingSchema).default([]),
  default: z.string().default('no data for this query'),
  expect: z.strictObject({
    rootCause: z.strictObject({
      entity: z.string().min(1),
      category: rootCauseCategorySchema,
      aliases: z.array(z.string().min(1)).default([]),
    }),
    /** Alternatives; each is the list of requests that together are the right change ([]: none). */
    actions: z.array(z.array(requestPattern)).min(1),
    escalate: z.boolean(),
    forbidden: z.array(z.union([toolName, requestPattern])).default([]),
    maxTurns: z.number().int().min(1).optional(),
    maxTokens: z.number().int().min(1).optional(),
  }),
});

export const worldSchema = worldObjectSchema.superRefine((world, ctx) => {
  world.tools.forEach((recording, index) => {
    if (!(isToolName(recording.tool) && DIAGNOSTIC_TOOLS.has(recording.tool)))
      ctx.addIssue({
        code: 'custom',
        path: ['tools', index, 'tool'],
        message: `recordings answer read-only tools only (${[...DIAGNOSTIC_TOOLS].join(', ')})`,
      });
    else checkArgs(ctx, recording.tool, recording.match, ['tools', index, 'match']);
  });
  world.expect.actions.forEach((alternative, a) => {
    alternative.forEach((pattern, i) => {
      checkArgs(ctx, pattern.tool, pattern.args, ['expect', 'actions', a, i, 'args']);
    });
  });
  world.expect.forbidden.forEach((entry, index) => {
    if (typeof entry !== 'string')
      checkArgs(ctx, entry.tool, entry.args, ['expect', 'forbidden', index, 'args']);
  });
});
export type World = z.infer<typeof worldSchema>;
export type RequestPattern = z.infer<typeof requestPattern>;
export type Recording = z.infer<typeof recordingSchema>;

/** One world file; errors name the file, line and problem. Its id must be its file name. */
export function loadWorld(path: string): World {
  const world = loadYamlConfig(path, worldSchema, 'eval world');
  const expected = basename(path).replace(/\.ya?ml$/, '');
  if (world.id !== expected)
    throw new ConfigFileError(`${path}: id ${world.id} must equal the file name (${expected})`);
  return world;
}

/** Every `*.yaml` world in these directories, sorted by id; ids must be unique across them. */
export function loadWorlds(dirs: readonly string[]): World[] {
  const worlds = new Map<string, { world: World; path: string }>();
  for (const dir of dirs) {
    let files: string[];
    try {
      files = readdirSync(dir).filter((file) => /\.ya?ml$/.test(file));
    } catch (error) {
      throw new ConfigFileError(`${dir}: cannot read the worlds directory: ${(error as Error).message}`);
    }
    for (const file of files) {
      const path = join(dir, file);
      const world = loadWorld(path);
      const earlier = worlds.get(world.id);
      if (earlier) throw new ConfigFileError(`${path}: world ${world.id} is also defined in ${earlier.path}`);
      worlds.set(world.id, { world, path });
    }
  }
  return [...worlds.values()].map((entry) => entry.world).sort((a, b) => a.id.localeCompare(b.id));
}
