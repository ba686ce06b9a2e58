import { loadEnvOrExit } from '../../shared/env.js';
import { runUntilSignal } from '../../shared/lifecycle.js';
import { createLogger } from '../../shared/logger.js';
import { createMetrics, serveMetrics } from '../../shared/metrics.js';
import { TargetsError } from '../../shared/targets/targets.js';
import { triageEnvSchema } from './env.js';
import { startTriage } from './service.js';

const env = loadEnvOrExit(triageEnvSchema);
const logger = createLogger('triage', env.LOG_LEVEL);
const metrics = createMetrics('triage');
await runUntilSignal(logger, async () => {
  const triage = await startTriage(env, { logger, metrics }).catch((error: unknown) => {
    if (!(error instanceof TargetsError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  });
  const server = await serveMetrics(metrics.registry, env.METRICS_PORT);
  return {
    async close() {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await triage.close();
    },
  };
});
