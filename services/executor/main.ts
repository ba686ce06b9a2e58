import { loadEnvOrExit } from '../../shared/env.js';
import { runUntilSignal } from '../../shared/lifecycle.js';
import { createLogger } from '../../shared/logger.js';
import { serveMetrics } from '../../shared/metrics.js';
import { TargetsError } from '../../shared/targets/targets.js';
import { executorEnvSchema } from './env.js';
import { PolicyError } from './policy.js';
import { startExecutor } from './service.js';

const env = loadEnvOrExit(executorEnvSchema);
const logger = createLogger('executor', env.LOG_LEVEL);
await runUntilSignal(logger, async () => {
  try {
    const executor = await startExecutor(env, { logger });
    const server = await serveMetrics(executor.metrics.registry, env.METRICS_PORT);
    return {
      async close() {
        await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
        await executor.close();
      },
    };
  } catch (error) {
    if (error instanceof PolicyError || error instanceof TargetsError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
});
