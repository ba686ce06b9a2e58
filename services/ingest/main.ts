import { loadEnvOrExit } from '../../shared/env.js';
import { runUntilSignal } from '../../shared/lifecycle.js';
import { createLogger } from '../../shared/logger.js';
import { ingestEnvSchema } from './env.js';
import { startIngest } from './service.js';

const env = loadEnvOrExit(ingestEnvSchema);
const logger = createLogger('ingest', env.LOG_LEVEL);
await runUntilSignal(logger, () => startIngest(env, { logger }));
