import { loadPolicy, type Policy } from '../../services/executor/policy.js';

/** The executor's policy as shipped in config/policy.yaml, for tests that check other parts against it. */
export function shippedPolicy(): Policy {
  return loadPolicy('config/policy.yaml');
}
