import { parseEnv } from '../../../shared/env.js';
import { createLogger } from '../../../shared/logger.js';
import { createQueue, QUEUE } from '../../../shared/queues.js';
import type { TriageJob } from '../../../shared/schemas/jobs.js';
import type { TestRedis } from '../../../test/support/redis.js';
import { ingestEnvSchema } from '../env.js';
import { type IngestHandle, startIngest } from '../service.js';

export async function startTestIngest(
  t: TestRedis,
  env: Record<string, string> = {},
  logger = createLogger('ingest', 'silent'),
): Promise<IngestHandle> {
  return startIngest(
    parseEnv(ingestEnvSchema, {
      REDIS_URL: t.url,
      HERMES_PREFIX: t.prefix,
      PORT: '0',
      HOST: '127.0.0.1',
      ...env,
    }),
    { logger },
  );
}

export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}/webhooks/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export async function triageJobs(t: TestRedis) {
  const queue = createQueue<TriageJob>(QUEUE.triage, t.redis, t.keys.bullPrefix);
  try {
    return await queue.getJobs(['waiting', 'prioritized', 'active', 'delayed']);
  } finally {
    await queue.close();
  }
}

/**
 * Every key under the test's prefix except what ingest writes when it starts (BullMQ's per-queue
 * `meta`, the config versions it runs): "nothing written" means this stays empty.
 */
export async function keysUnder(t: TestRedis): Promise<string[]> {
  const keys = await t.redis.keys(`${t.keys.bullPrefix}:*`);
  return keys.filter(
    (key) =>
      !/:(triage|actions|notifications-ingest):meta$/.test(key) && key !== t.keys.configVersion('ingest'),
  );
}
