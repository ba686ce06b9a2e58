import { loadEnvOrExit } from '../../shared/env.js';
import { runUntilSignal } from '../../shared/lifecycle.js';
import { createLogger } from '../../shared/logger.js';
import { createMetrics, serveMetrics } from '../../shared/metrics.js';
import { notifierEnvSchema } from './env.js';
import { startNotifier } from './service.js';

const env = loadEnvOrExit(notifierEnvSchema);
const logger = createLogger('notifier', env.LOG_LEVEL);
const metrics = createMetrics('notifier');
await runUntilSignal(logger, async () => {
  const notifier = await startNotifier(env, { logger, metrics });
  const server = await serveMetrics(metrics.registry, env.METRICS_PORT);
  return {
    async close() {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await notifier.close();
    },
  };
});
