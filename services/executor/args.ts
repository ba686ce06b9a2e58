import { z } from 'zod';

import { SAFE_NAME_PATTERN } from '../../shared/names.js';

/** Values that may be substituted into argv (see SAFE_NAME_PATTERN). */
export const SAFE_ARG_PATTERN = SAFE_NAME_PATTERN;

const optional = { optional: z.boolean().default(false) };

export const argSpecSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('name'), ...optional }),
  z.strictObject({ type: z.literal('text'), maxLength: z.number().int().min(1).default(1_000), ...optional }),
  z.strictObject({
    type: z.literal('integer'),
    min: z.number().int().optional(),
    max: z.number().int().optional(),
    default: z.number().int().optional(),
    ...optional,
  }),
  z.strictObject({ type: z.literal('paths'), maxItems: z.number().int().min(1).default(20), ...optional }),
]);
export type ArgSpec = z.infer<typeof argSpecSchema>;

/** Types whose values are safe to place in a command's argv. */
export const ARGV_SAFE_TYPES: ReadonlySet<ArgSpec['type']> = new Set(['name', 'integer']);

function fieldSchema(name: string, spec: ArgSpec): z.ZodType {
  const base = baseSchema(name, spec);
  if (spec.type === 'integer' && spec.default !== undefined) return base.default(spec.default);
  return spec.optional ? base.optional() : base;
}

function baseSchema(name: string, spec: ArgSpec): z.ZodType {
  const error = (kind: string) => (issue: { input?: unknown }) =>
    issue.input === undefined ? `${name} is required` : `${name} must be ${kind}`;
  switch (spec.type) {
    case 'name':
      return z
        .string({ error: error('a string') })
        .regex(SAFE_ARG_PATTERN, `${name} must match ${SAFE_ARG_PATTERN.source}`);
    case 'text':
      return z
        .string({ error: error('a string') })
        .max(spec.maxLength, `${name} is longer than ${spec.maxLength}`);
    case 'integer': {
      let schema = z.number({ error: error('an integer') }).int(`${name} must be an integer`);
      if (spec.min !== undefined) schema = schema.min(spec.min, `${name} must be >= ${spec.min}`);
      if (spec.max !== undefined) schema = schema.max(spec.max, `${name} must be <= ${spec.max}`);
      return schema;
    }
    case 'paths':
      return z
        .array(z.string().min(1).max(4_096), { error: error('a list of paths') })
        .min(1, `${name} must not be empty`)
        .max(spec.maxItems, `${name} has more than ${spec.maxItems} entries`);
  }
}

/** A strict zod schema for a tool's arguments (unknown keys are an error, not silently dropped). */
export function buildArgsSchema(
  specs: Record<string, ArgSpec> | undefined,
): z.ZodType<Record<string, unknown>> {
  if (!specs) return z.record(z.string(), z.unknown());
  const shape: Record<string, z.ZodType> = {};
  for (const [name, spec] of Object.entries(specs)) shape[name] = fieldSchema(name, spec);
  return z.strictObject(shape) as unknown as z.ZodType<Record<string, unknown>>;
}

export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
