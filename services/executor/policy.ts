import { z } from 'zod';
import { HermesError } from '../../shared/errors.js';
import { widespreadSchema } from '../../shared/fleet.js';
import {
  DEFAULT_PROPOSE_AFTER_APPROVALS,
  type PreapprovedEntry,
  preapprovedEntrySchema,
} from '../../shared/preapproved.js';
import { operationSchema } from '../../shared/targets/drivers/driver.js';
import { loadYamlConfig, parseYamlConfig } from '../../shared/yaml-config.js';
import { ARGV_SAFE_TYPES, argSpecSchema, buildArgsSchema } from './args.js';
import { budgetsSchema } from './budget-policy.js';

export const tierSchema = z.enum(['read', 'safe', 'confirm', 'forbidden']);
export type Tier = z.infer<typeof tierSchema>;

const argName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'argument names are snake_case');
const seconds = z.number().int().min(1);

const backendSchema = z.discriminatedUnion('kind', [
  /** argv template; `{arg}` is replaced by that argument's value. Run with execFile, never a shell. */
  z.strictObject({
    kind: z.literal('command'),
    argv: z.array(z.string().min(1)).min(1),
    timeoutSeconds: seconds.optional(),
  }),
  /** Native file cleaning under these roots (clean_disk_space). */
  z.strictObject({ kind: z.literal('disk'), roots: z.array(z.string().startsWith('/')).min(1) }),
]);
export type BackendConfig = z.infer<typeof backendSchema>;

const toolSchema = z
  .strictObject({
    tier: tierSchema,
    description: z.string().optional(),
    args: z.record(argName, argSpecSchema).optional(),
    /** Rolling-window limit, counted per value of the `per` argument (or per tool without it). */
    rateLimit: z
      .strictObject({
        per: argName.optional(),
        max: z.number().int().min(1),
        windowSeconds: seconds,
        /** Reason when refused; `{value}` (the `per` argument), `{count}` and `{max}` are filled in. */
        message: z.string().optional(),
      })
      .optional(),
    /** For scaling tools: the target (`replicas`, or current + `delta`) stays within baseline + maxAboveBaseline. */
    scale: z
      .strictObject({
        baseline: z.number().int().min(0),
        baselines: z.record(z.string(), z.number().int().min(0)).default({}),
        maxAboveBaseline: z.number().int().min(0).default(2),
        minReplicas: z.number().int().min(0).default(1),
      })
      .optional(),
    /**
     * What the tool does on a remote target: the target's own verb (ssh: restart, reload, clean;
     * docker: restart; kubernetes: restart, scale, rollback), applied to the incident's resource, or
     * to `unit` (`{arg}` filled from name arguments, e.g. `{service}-consumers`).
     * Without it the tool only acts on `local` targets, through `backend`.
     */
    operation: operationSchema.optional(),
    backend: backendSchema.optional(),
  })
  .superRefine((tool, ctx) => {
    const stateChanging = tool.tier === 'safe' || tool.tier === 'confirm';
    if (stateChanging && !tool.backend)
      ctx.addIssue({ code: 'custom', path: ['backend'], message: `a ${tool.tier} tool needs a backend` });
    if (tool.rateLimit?.per && tool.args?.[tool.rateLimit.per]?.type !== 'name')
      ctx.addIssue({
        code: 'custom',
        path: ['rateLimit', 'per'],
        message: 'must name an argument of type name',
      });
    for (const [, name] of tool.operation?.unit?.matchAll(/\{([^}]*)\}/g) ?? [])
      if (!(name && tool.args?.[name]?.type === 'name'))
        ctx.addIssue({
          code: 'custom',
          path: ['operation', 'unit'],
          message: `{${name}} must be an argument of type name`,
        });
    if (tool.backend?.kind === 'command') {
      tool.backend.argv.forEach((part, index) => {
        for (const [, name] of part.matchAll(/\{([^}]*)\}/g)) {
          const spec = name ? tool.args?.[name] : undefined;
          const computed = tool.scale && name === 'replicas';
          if (!computed && !(spec && ARGV_SAFE_TYPES.has(spec.type)))
            ctx.addIssue({
              code: 'custom',
              path: ['backend', 'argv', index],
              message: `{${name}} must be an argument of type name or integer`,
            });
        }
      });
    }
  });

const policyFields = z.strictObject({
  version: z.literal(1),
  /** Cap on state-changing actions across all tools, per rolling hour. */
  limits: z.strictObject({ stateChangesPerHour: z.number().int().min(1) }),
  breaker: z.strictObject({
    failureThreshold: z.number().int().min(1),
    windowSeconds: seconds,
    cooldownSeconds: seconds,
  }),
  command: z
    .strictObject({
      timeoutSeconds: seconds.default(60),
      maxOutputBytes: z.number().int().min(256).default(16_384),
    })
    .default({ timeoutSeconds: 60, maxOutputBytes: 16_384 }),
  /** A fix that worked but keeps coming back on the same place is not repeated automatically. */
  recurrence: z
    .strictObject({ maxRepeats: z.number().int().min(1).default(2), windowSeconds: seconds.default(3600) })
    .default({ maxRepeats: 2, windowSeconds: 3600 }),
  /**
   * A fix found ineffective this often becomes a learned rule: it needs a human for a while. One
   * approved by humans proposeAfterApprovals times, every time verified fixed, is proposed for
   * `preapproved:` (a human applies the proposal, never Hermes).
   */
  learning: z
    .strictObject({
      ineffectiveToConfirm: z.number().int().min(1).default(3),
      windowSeconds: seconds.default(14_400),
      cooldownSeconds: seconds.default(86_400),
      proposeAfterApprovals: z.number().int().min(1).default(DEFAULT_PROPOSE_AFTER_APPROVALS),
    })
    .default({
      ineffectiveToConfirm: 3,
      windowSeconds: 14_400,
      cooldownSeconds: 86_400,
      proposeAfterApprovals: DEFAULT_PROPOSE_AFTER_APPROVALS,
    }),
  /** Change budgets per resource: in flight at once per region and fleet-wide. */
  budgets: budgetsSchema,
  /** Fixes humans wrote down as needing no level-2 approval (confirm tools still ask; see README). */
  preapproved: z.array(preapprovedEntrySchema).default([]),
  /** When many alerts are one cause (a fleet incident, opened by ingest): changes wait for humans. */
  widespread: widespreadSchema,
  tools: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,99}$/), toolSchema),
});

export const policySchema = policyFields.superRefine(checkPreapproved);
export type PolicyFile = z.infer<typeof policySchema>;
export type ToolPolicy = PolicyFile['tools'][string];

export interface Policy extends PolicyFile {
  /** Unknown tools resolve to undefined: the caller treats them as forbidden. */
  tool(
    name: string,
  ): (ToolPolicy & { name: string; argsSchema: z.ZodType<Record<string, unknown>> }) | undefined;
}

/** Preapprovals name tools the policy lists as safe or confirm, each once. */
function checkPreapproved(
  policy: { preapproved: PreapprovedEntry[]; tools: Record<string, { tier: Tier }> },
  ctx: z.RefinementCtx,
): void {
  const seen = new Set<string>();
  policy.preapproved.forEach((entry, index) => {
    const tier = policy.tools[entry.tool]?.tier;
    if (tier !== 'safe' && tier !== 'confirm')
      ctx.addIssue({
        code: 'custom',
        path: ['preapproved', index, 'tool'],
        message: tier
          ? `${entry.tool} is a ${tier} tool: only safe (and confirm, which still always asks) tools can be preapproved`
          : `${entry.tool} is not a tool in tools:`,
      });
    const key = JSON.stringify([entry.alertname, entry.tool, entry.resource]);
    if (seen.has(key))
      ctx.addIssue({
        code: 'custom',
        path: ['preapproved', index],
        message: 'the same entry is listed twice',
      });
    seen.add(key);
  });
}

export class PolicyError extends HermesError {}

export function loadPolicy(path: string): Policy {
  return compilePolicy(loadYamlConfig(path, policySchema, 'policy', PolicyError));
}

/** Parses and validates a policy; errors name the file, line and column, and the problem. */
export function parsePolicy(text: string, path = '<policy>'): Policy {
  return compilePolicy(parseYamlConfig(text, path, policySchema, 'policy', PolicyError));
}

function compilePolicy(file: PolicyFile): Policy {
  const compiled = new Map(
    Object.entries(file.tools).map(([name, tool]) => [
      name,
      { ...tool, name, argsSchema: buildArgsSchema(tool.args) },
    ]),
  );
  return { ...file, tool: (name) => compiled.get(name) };
}
