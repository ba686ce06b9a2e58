import { webhookEnvelope } from '../bin/webhook.js';
import { startAlertmanager } from '../test/support/monitoring.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { type LoadResult, makeBatches, runLoad } from './load.js';
import { spawnService } from './services.js';

export interface IngestThroughput {
  hermes: LoadResult;
  alertmanager: LoadResult;
  ratio: number;
}

const ALERTS = 20_000;
const BATCH = 100;
const CONNECTIONS = 4;

/**
 * The same alerts, in batches of 100 (half already sent), over 4 connections: to Hermes ingest's
 * webhook and to Alertmanager 0.25's own POST /api/v2/alerts, on this machine, in this run.
 */
export async function benchIngestThroughput(): Promise<IngestThroughput> {
  // fsync on every write: each 202 means the alerts are on disk, not only in Redis' memory.
  const redis = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
  const ingest = await spawnService('ingest', { REDIS_URL: redis.url, HERMES_PREFIX: 'bench' });
  // No receiver integration: Alertmanager spends nothing on failing deliveries, only on intake.
  const alertmanager = await startAlertmanager({});
  try {
    const warmup = makeBatches(2_000, BATCH);
    await runLoad(`${ingest.url}/webhooks/alertmanager`, warmup.map(webhook), BATCH, CONNECTIONS);
    await runLoad(`${alertmanager.url}/api/v2/alerts`, warmup.map(postable), BATCH, CONNECTIONS);

    const batches = makeBatches(ALERTS, BATCH);
    const hermes = await runLoad(
      `${ingest.url}/webhooks/alertmanager`,
      batches.map(webhook),
      BATCH,
      CONNECTIONS,
    );
    const am = await runLoad(`${alertmanager.url}/api/v2/alerts`, batches.map(postable), BATCH, CONNECTIONS);
    return { hermes, alertmanager: am, ratio: hermes.alertsPerSecond / am.alertsPerSecond };
  } finally {
    alertmanager.process.kill('SIGTERM');
    await ingest.stop();
    await redis.stop();
  }
}

type Batch = ReturnType<typeof makeBatches>[number];

function webhook(alerts: Batch): string {
  return JSON.stringify(webhookEnvelope(alerts.map((a) => ({ status: 'firing' as const, ...a }))));
}

function postable(alerts: Batch): string {
  return JSON.stringify(alerts.map(({ fingerprint: _, ...alert }) => ({ ...alert, endsAt: undefined })));
}
