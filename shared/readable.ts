/** Below this depth, objects are shown as compact JSON (a result is rarely deeper). */
const READABLE_DEPTH = 3;

/**
 * A tool's output or an action's result for reading, not parsing (console and CLI): text as is, a
 * list of lines as lines, an object as `key: value` lines, nested objects and lists indented under
 * their key; anything deeper than a few levels as compact JSON.
 */
export function readable(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((item) => typeof item !== 'object' || item === null))
    return value.map(String).join('\n');
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return JSON.stringify(value) ?? String(value);
  return readableLines(value as Record<string, unknown>, 0).join('\n');
}

function readableLines(value: Record<string, unknown> | unknown[], depth: number): string[] {
  const indent = (lines: string[]) => lines.map((line) => `  ${line}`);
  const entries = Array.isArray(value)
    ? value.map((item) => ['-', item] as const)
    : Object.entries(value).map(([key, item]) => [`${key}:`, item] as const);
  return entries.flatMap(([label, item]) => {
    if (typeof item === 'string')
      return item.includes('\n') ? [label, ...indent(item.split('\n'))] : [`${label} ${item}`];
    if (Array.isArray(item) && item.length === 0) return [`${label} (none)`];
    if (item && typeof item === 'object' && depth < READABLE_DEPTH)
      return [label, ...indent(readableLines(item as Record<string, unknown>, depth + 1))];
    return [`${label} ${JSON.stringify(item) ?? String(item)}`];
  });
}

/** "held: part of fleet incident …", not "held: held: …": many reasons already start with their decision. */
export function decisionWithReason(decision: string, reason: string): string {
  if (!reason) return decision;
  return reason.startsWith(`${decision}:`) ? reason : `${decision}: ${reason}`;
}
