import { z } from 'zod';
import { type Widespread, widespreadSchema } from '../../../shared/fleet.js';
import { loadYamlConfig } from '../../../shared/yaml-config.js';

// Ingest reads only `widespread:` of the executor's policy; the executor validates the rest.
const policyWidespreadSchema = z.object({ widespread: widespreadSchema });

/** POLICY_FILE's `widespread:` block; a bad one stops ingest with the file, line and problem. */
export function loadWidespread(path: string): Widespread {
  return loadYamlConfig(path, policyWidespreadSchema, 'policy (POLICY_FILE) widespread block').widespread;
}
