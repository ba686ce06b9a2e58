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

const logger = createLogger('test', 'silent');

const commonEnv = (t: TestRedis) => ({
  REDIS_URL: t.url,
  HERMES_PREFIX: t.prefix,
  LOG_LEVEL: 'silent',
  TARGETS_FILE: LOCAL_TARGETS,
});

/**
 * The real executor, in this process on local targets, live on the test policy: every command tool
 * runs the slow-action fixture, which records each run in `marker` (in `dir`).
 */
export async function startLiveExecutor(t: TestRedis, dir: string) {
  const marker = join(dir, 'runs.log');
  const executor = await startExecutor(
    parseEnv(executorEnvSchema, {
      ...commonEnv(t),
      EXECUTION_MODE: 'live',
      POLICY_FILE: writeTestPolicy(dir, marker, 0),
    }),
    { logger },
  );
  return { marker, executor };
}

/** startLiveExecutor's executor and the real triage with `triageEnv`, in this process. */
export async function startLiveServices(t: TestRedis, dir: string, triageEnv: Record<string, string>) {
  const { marker, executor } = await startLiveExecutor(t, dir);
  const triage = await startTriage(parseEnv(triageEnvSchema, { ...commonEnv(t), ...triageEnv }), { logger });
  return {
    marker,
    async close() {
      await triage.close();
      await executor.close();
    },
  };
}
