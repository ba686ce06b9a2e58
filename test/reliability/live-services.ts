import { join } from 'node:path';
import { executorEnvSchema } from '../../services/executor/env.js';
import { startExecutor } from '../../services/executor/service.js';
import { triageEnvSchema } from '../../services/triage/env.js';
import { startTriage } from '../../services/triage/service.js';
import { parseEnv } from '../../shared/env.js';
import { createLogger } from '../../shared/logger.js';
import type { TestRedis } from '../support/redis.js';
import { LOCAL_TARGETS } from '../support/targets.js';
import { writeTestPolicy } from './processes.js';

/**
 * The real executor (live, on the test policy: every command tool runs the slow-action fixture,
 * which records each run in `marker`) and triage with `triageEnv`, in this process, on local targets.
 */
export async function startLiveServices(t: TestRedis, dir: string, triageEnv: Record<string, string>) {
  const marker = join(dir, 'runs.log');
  const logger = createLogger('test', 'silent');
  const common = {
    REDIS_URL: t.url,
    HERMES_PREFIX: t.prefix,
    LOG_LEVEL: 'silent',
    TARGETS_FILE: LOCAL_TARGETS,
  };
  const executor = await startExecutor(
    parseEnv(executorEnvSchema, {
      ...common,
      EXECUTION_MODE: 'live',
      POLICY_FILE: writeTestPolicy(dir, marker, 0),
    }),
    { logger },
  );
  const triage = await startTriage(parseEnv(triageEnvSchema, { ...common, ...triageEnv }), { logger });
  return {
    marker,
    async close() {
      await triage.close();
      await executor.close();
    },
  };
}
