import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadPolicy, type Policy } from '../../services/executor/policy.js';

/** The executor's policy as shipped in config/policy.yaml, for tests that check other parts against it. */
export function shippedPolicy(): Policy {
  return loadPolicy('config/policy.yaml');
}

/**
 * The shipped policy written to `dir`, with roomy change budgets: for tests where many incidents
 * change one resource and no verdict ever frees a slot (no triage runs), and budgets are not what
 * they test. `edit` adjusts the parsed file first.
 */
export function writeShippedPolicy(
  dir: string,
  // biome-ignore lint/suspicious/noExplicitAny: the YAML document as parsed, edited in place by a test
  edit: (policy: Record<string, any>) => void = () => {},
): string {
  const policy = parse(readFileSync('config/policy.yaml', 'utf8'));
  policy.budgets = { ...policy.budgets, maxInFlight: 10_000, maxInFlightFleet: 10_000 };
  edit(policy);
  const path = join(dir, 'shipped-policy.yaml');
  writeFileSync(path, stringify(policy));
  return path;
}
