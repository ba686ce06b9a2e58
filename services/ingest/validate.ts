import type { ValidationTargets } from 'hono';
import { validator } from 'hono/validator';
import type { z } from 'zod';

const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;
const NOT_JSON = 'the body must be sent as content-type: application/json';

/**
 * Hono's `validator` with a zod schema: the handler reads `c.req.valid(target)`, typed from the
 * schema; anything else is answered 400 `{ error, details }` with the zod issues. (A JSON body must
 * say `content-type: application/json`, even where every field is optional; malformed JSON is
 * Hono's 400.)
 */
export function validated<Target extends keyof ValidationTargets, Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
  error: string,
) {
  return validator(target, (value, c) => {
    if (target === 'json' && !JSON_TYPE.test(c.req.header('content-type') ?? ''))
      return c.json({ error, details: [{ code: 'custom', path: [], message: NOT_JSON }] }, 400);
    const parsed = schema.safeParse(value);
    return parsed.success
      ? (parsed.data as z.output<Schema>)
      : c.json({ error, details: parsed.error.issues }, 400);
  });
}
