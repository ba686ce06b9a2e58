import { isDeepStrictEqual } from 'node:util';

/** `"/regex/"` (optionally with flags, e.g. `"/disk/i"`) as written in a world file, else null. */
function regexOf(pattern: string): RegExp | null {
  const match = /^\/(.+)\/([a-z]*)$/s.exec(pattern);
  if (!match) return null;
  try {
    return new RegExp(match[1] as string, match[2]);
  } catch {
    return null;
  }
}

/**
 * Whether an actual value fits an expected one: a "/regex/" string tests the value's text, an
 * expected array needs each of its items to fit some actual item, anything else must be equal.
 */
export function valueMatches(expected: unknown, actual: unknown): boolean {
  if (typeof expected === 'string') {
    const regex = regexOf(expected);
    if (regex) return actual !== undefined && actual !== null && regex.test(String(actual));
  }
  if (Array.isArray(expected))
    return (
      Array.isArray(actual) && expected.every((item) => actual.some((value) => valueMatches(item, value)))
    );
  return isDeepStrictEqual(expected, actual);
}

/** Every argument the pattern names fits the call's (the call may carry more). */
export function argsMatch(pattern: Record<string, unknown>, args: unknown): boolean {
  const actual = (args && typeof args === 'object' ? args : {}) as Record<string, unknown>;
  return Object.entries(pattern).every(([name, expected]) => valueMatches(expected, actual[name]));
}
