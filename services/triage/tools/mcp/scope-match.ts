import { hostOfInstance } from '../../../../shared/names.js';
import type { IncidentScope } from '../../../../shared/targets/scope.js';
import { ToolError } from '../tool-error.js';

/** The values a placeholder stands for in an incident: the places its alerts name. */
function valuesOf(placeholder: string, scope: IncidentScope): string[] {
  const values = scope.entries.flatMap((entry) => {
    if (placeholder === 'host') return [entry.host, entry.instance, hostOfInstance(entry.instance)];
    if (placeholder === 'instance') return [entry.instance];
    return entry.resource ? [entry.resource] : [];
  });
  return [...new Set(values.filter(Boolean))];
}

/**
 * The arguments, each one `match` names held to its value: a literal, or one of the incident's own
 * hosts, services or instances. A scoped argument left out is filled when only one value fits.
 */
export function scopedArgs(
  tool: string,
  args: Record<string, unknown>,
  match: Readonly<Record<string, string>>,
  scope: IncidentScope,
): Record<string, unknown> {
  const scoped = { ...args };
  for (const [name, wanted] of Object.entries(match)) {
    const placeholder = /^\{\{(\w+)\}\}$/.exec(wanted)?.[1];
    const allowed = placeholder ? valuesOf(placeholder, scope) : [wanted];
    const given = scoped[name];
    if (given === undefined && allowed.length === 1) {
      scoped[name] = allowed[0];
      continue;
    }
    if (typeof given !== 'string' || !allowed.some((value) => value.toLowerCase() === given.toLowerCase()))
      throw new ToolError(
        `out of scope: ${tool} argument ${name} must be ${
          allowed.length
            ? `one of ${allowed.map((value) => JSON.stringify(value)).join(', ')}`
            : 'a place this incident names (it names none)'
        }${given === undefined ? '' : `, not ${JSON.stringify(given).slice(0, 200)}`}`,
      );
  }
  return scoped;
}
