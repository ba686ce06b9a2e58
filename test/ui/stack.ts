import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executorEnvSchema } from '../../services/executor/env.js';
import { startExecutor } from '../../services/executor/service.js';
import { ingestEnvSchema } from '../../services/ingest/env.js';
import { type IngestHandle, startIngest } from '../../services/ingest/service.js';
import { notifierEnvSchema } from '../../services/notifier/env.js';
import { startNotifier } from '../../services/notifier/service.js';
import { triageEnvSchema } from '../../services/triage/env.js';
import { startTriage } from '../../services/triage/service.js';
import { parseEnv } from '../../shared/env.js';
import { createLogger } from '../../shared/logger.js';
import { startFakePrometheus } from '../support/fake-prometheus.js';
import type { TestRedis } from '../support/redis.js';
import { LOCAL_TARGETS } from '../support/targets.js';
import { writeUsersFile } from '../support/users.js';

export interface ConsoleStack {
  ingest: IngestHandle;
  /** alice's own token (USERS_FILE, approver): the console signs in with it alone. */
  token: string;
  stop(): Promise<void>;
}

/**
 * Ingest (with a named approver, alice, and a low storm threshold), runbook triage reading a real log file, the
 * executor in dry-run on the shipped policy, and the notifier on its console channel: every timeline
 * entry the console shows is written by the real service that owns it.
 */
export async function startConsoleStack(
  t: TestRedis,
  logLines: string[],
  /** Overrides of ingest's settings (the storm threshold, say). */
  ingestEnv: Record<string, string> = {},
): Promise<ConsoleStack> {
  const common = {
    REDIS_URL: t.url,
    HERMES_PREFIX: t.prefix,
    LOG_LEVEL: 'silent',
    TARGETS_FILE: LOCAL_TARGETS,
  };
  const silent = () => createLogger('ui-test', 'silent');
  const token = 'ui-alice-token-0123456789abcdef';
  const dir = mkdtempSync(join(tmpdir(), 'hermes-ui-'));
  writeFileSync(join(dir, 'checkout.log'), `${logLines.join('\n')}\n`);
  const prometheus = await startFakePrometheus();

  const ingest = await startIngest(
    parseEnv(ingestEnvSchema, {
      ...common,
      PORT: '0',
      HOST: '127.0.0.1',
      USERS_FILE: writeUsersFile([{ name: 'alice', role: 'approver', token }]),
      PROMETHEUS_EXTERNAL_URL: 'https://prometheus.example/',
      GRAFANA_URL: 'https://grafana.example',
      STORM_THRESHOLD: '4',
      STORM_WINDOW_SECONDS: '600',
      STORM_TRIAGE_BUDGET: '0',
      ...ingestEnv,
    }),
    { logger: silent() },
  );
  const executor = await startExecutor(
    parseEnv(executorEnvSchema, { ...common, EXECUTION_MODE: 'dry-run' }),
    {
      logger: silent(),
    },
  );
  const notifier = await startNotifier(parseEnv(notifierEnvSchema, common), { logger: silent() });
  const triage = await startTriage(
    parseEnv(triageEnvSchema, {
      ...common,
      PLANNER: 'runbook',
      PROMETHEUS_URL: prometheus.url,
      LOG_DIR: dir,
      VERIFY_WINDOW_SECONDS: '2',
      VERIFY_INTERVAL_MS: '500',
    }),
    { logger: silent() },
  );
  return {
    ingest,
    token,
    async stop() {
      await triage.close();
      await executor.close();
      await notifier.close();
      await ingest.close();
      await prometheus.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
