import type { ValidationTargets } from 'hono';
import { validator } from 'hono/validator';
import type { z } from 'zod';

/**
 * Hono's `validator` with a zod schema: the handler reads `c.req.valid(target)`, typed from the
 * schema; anything else is answered 400 `{ error, details }` with the zod issues. (A JSON body must
 * say `content-type: application/json`; malformed JSON is Hono's 400.)
 */
export function validated<Target extends keyof ValidationTargets, Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
  error: string,
) {
  return validator(target, (value, c) => {
    const parsed = schema.safeParse(value);
    return parsed.success
      ? (parsed.data as z.output<Schema>)
      : c.json({ error, details: parsed.error.issues }, 400);
  });
}
