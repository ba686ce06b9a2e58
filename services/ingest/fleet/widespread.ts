import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { type Widespread, widespreadSchema } from '../../../shared/fleet.js';
import type { Logger } from '../../../shared/logger.js';
import { parseYamlConfig } from '../../../shared/yaml-config.js';

// Ingest reads only `widespread:` of the executor's policy; the executor validates the rest.
const policyWidespreadSchema = z.object({ widespread: widespreadSchema });

/**
 * POLICY_FILE's `widespread:` block; a bad one stops ingest with the file, line and problem. A file
 * ingest cannot read (the executor's alone to need) leaves the defaults, said in the log.
 */
export function loadWidespread(path: string, logger: Logger): Widespread {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const defaults = widespreadSchema.parse(undefined);
    logger.warn(
      { path, err: (error as Error).message, widespread: defaults },
      'POLICY_FILE unreadable: fleet incidents use the default widespread rules',
    );
    return defaults;
  }
  return parseYamlConfig(text, path, policyWidespreadSchema, 'policy (POLICY_FILE) widespread block')
    .widespread;
}
