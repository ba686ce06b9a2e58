import { resolve } from 'node:path';
import { webhookEnvelope } from '../bin/webhook.js';
import { startAlertmanager } from '../test/support/monitoring.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { histogramDelta, histogramTotals } from './histogram.js';
import { type LoadResult, makeBatches, runLoad } from './load.js';
import { cpuMs, spawnScript, spawnService } from './services.js';

export interface IngestThroughput {
  hermes: LoadResult;
  alertmanager: LoadResult;
  /** Body read + JSON.parse + zod only, nothing stored: the most any Node webhook could do here. */
  ceiling: LoadResult;
  ratio: number;
  rounds: { hermes: number; alertmanager: number; ceiling: number }[];
  /**
   * CPU ms per 100-alert request over the measured rounds, per process (both cores count; Redis with
   * its AOF rewrites), and the load generator's own per target.
   */
  cpuPerRequest: {
    ingest: number;
    redis: number;
    alertmanager: number;
    loadHermes: number;
    loadAlertmanager: number;
  };
  /**
   * Mean ms per accepted webhook inside ingest (headers read → 202 sent), and per intake script from
   * sending it to Redis until its reply was handled; scripts per webhook (the rest were answered
   * from memory). From ingest's own /metrics over the measured rounds. `cores`: the ingest process'
   * CPU over those rounds' duration (1 = one core kept busy).
   */
  ingestTime: { webhookMs: number; scriptMs: number; scriptsPerWebhook: number; cores: number };
  /** Share of the machine busy during the measured rounds (0–1). */
  machineBusy: { hermes: number; alertmanager: number };
  /**
   * The ratio if both sides kept the machine fully busy: CPU per request of Alertmanager and its load
   * over Hermes' (ingest + Redis) and its load. CPU, not waiting, is what both end up bound by.
   */
  cpuBoundRatio: number;
}

/** How the intake is measured (the table's notes quote it). */
export const INGEST_LOAD = {
  /** New alerts per measured round (each batch also re-sends the previous batch's alerts). */
  alerts: 40_000,
  /**
   * Alerts each target takes before the measured rounds. A fresh ingest process spends 1.25 ms of CPU
   * per webhook on its first 10,000 alerts and settles near 0.45 ms after about 150,000 (V8 optimises
   * per-request code such as the HTTP parser and the intake only after thousands of calls), so a short
   * warm-up measures start-up, not the service Alertmanager sends to. Alertmanager gets the same.
   */
  warmup: 150_000,
  rounds: 5,
  batch: 100,
  connections: 4,
} as const;
const TOKEN = 'bench-ingest-token';

/**
 * The same alerts, in batches of 100 (half already sent), over 4 connections: to Hermes ingest's
 * webhook and to Alertmanager 0.25's own POST /api/v2/alerts, on this machine, in this run. Both are
 * warmed up alike, then measured in alternating rounds (new alerts each round); the median round counts.
 */
export async function benchIngestThroughput(): Promise<IngestThroughput> {
  // No receiver integration: Alertmanager spends nothing on failing deliveries, only on intake; its
  // default group timers, as in production (1 s timers would flush thousands of groups every second).
  // Started first: if it is not installed, the bench fails before anything else is running.
  const alertmanager = await startAlertmanager({ groupTimers: 'defaults' });
  // fsync on every write: each 202 means the alerts are on disk, not only in Redis' memory.
  const redis = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
  const ingest = await spawnService('ingest', {
    REDIS_URL: redis.url,
    HERMES_PREFIX: 'bench',
    INGEST_TOKEN: TOKEN,
  });
  const ceiling = await spawnScript(resolve(import.meta.dirname, 'ceiling-server.ts'));
  // Alertmanager holding tens of thousands of alerts keeps working between requests (group timers):
  // it is stopped (SIGSTOP) except during its own turns, so that it does not slow the others down.
  const alertmanagerTurn = async <T>(turn: () => Promise<T>): Promise<T> => {
    alertmanager.process.kill('SIGCONT');
    await new Promise((r) => setTimeout(r, 500));
    try {
      return await turn();
    } finally {
      alertmanager.process.kill('SIGSTOP');
    }
  };
  // What each request costs the processes serving it (measured rounds only, load running), to see
  // which one limits the rate.
  const cpu = { ingest: 0, redis: 0, alertmanager: 0 };
  // Per target: requests, the load generator's CPU ms, and seconds of load (plain and machine-busy).
  const measured = {
    hermes: { requests: 0, clientCpu: 0, seconds: 0, busySeconds: 0 },
    alertmanager: { requests: 0, clientCpu: 0, seconds: 0, busySeconds: 0 },
  };
  let measuring = false;
  const timed = async (
    target: keyof typeof measured,
    pids: Partial<Record<keyof typeof cpu, number | undefined>>,
    run: () => Promise<LoadResult>,
  ) => {
    const before = Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid)] as const);
    const result = await run();
    if (!measuring) return result;
    for (const [name, used] of before)
      cpu[name as keyof typeof cpu] += cpuMs(pids[name as keyof typeof cpu]) - used;
    const m = measured[target];
    m.requests += result.requests;
    m.clientCpu += result.clientCpuMsPerRequest * result.requests;
    m.seconds += result.seconds;
    m.busySeconds += result.machineBusy * result.seconds;
    return result;
  };
  const ingestTimes = async () => {
    const page = await (await fetch(`${ingest.url}/metrics`)).text();
    return {
      webhook: histogramTotals(page, 'hermes_http_request_duration_seconds', {
        route: '/webhooks/alertmanager',
        status: '202',
      }),
      script: histogramTotals(page, 'hermes_ingest_intake_script_duration_seconds'),
    };
  };
  const load = (url: string, bodies: string[], headers?: Record<string, string>) =>
    runLoad(url, bodies, INGEST_LOAD.batch, INGEST_LOAD.connections, headers);
  const targets = {
    hermes: (batches: Batch[]) =>
      timed('hermes', { ingest: ingest.process.pid, redis: redis.process.pid }, () =>
        load(`${ingest.url}/webhooks/alertmanager`, batches.map(webhook), {
          authorization: `Bearer ${TOKEN}`,
        }),
      ),
    alertmanager: (batches: Batch[]) =>
      alertmanagerTurn(() =>
        timed('alertmanager', { alertmanager: alertmanager.process.pid }, () =>
          load(`${alertmanager.url}/api/v2/alerts`, batches.map(postable)),
        ),
      ),
    ceiling: (batches: Batch[]) => load(`${ceiling.url}/webhooks/alertmanager`, batches.map(webhook)),
  };
  try {
    for (const send of Object.values(targets)) await send(makeBatches(INGEST_LOAD.warmup, INGEST_LOAD.batch));
    measuring = true;
    // Only Hermes' rounds post to ingest: what its histograms gain from here on is theirs.
    const ingestBefore = await ingestTimes();
    const results: Record<keyof typeof targets, LoadResult>[] = [];
    for (let round = 0; round < INGEST_LOAD.rounds; round++) {
      const batches = makeBatches(INGEST_LOAD.alerts, INGEST_LOAD.batch);
      results.push({
        hermes: await targets.hermes(batches),
        alertmanager: await targets.alertmanager(batches),
        ceiling: await targets.ceiling(batches),
      });
    }
    const median = (name: keyof typeof targets) =>
      results.map((r) => r[name]).sort((a, b) => a.alertsPerSecond - b.alertsPerSecond)[
        Math.floor(INGEST_LOAD.rounds / 2)
      ] as LoadResult;
    const cpuPerRequest = {
      ingest: cpu.ingest / measured.hermes.requests,
      redis: cpu.redis / measured.hermes.requests,
      alertmanager: cpu.alertmanager / measured.alertmanager.requests,
      loadHermes: measured.hermes.clientCpu / measured.hermes.requests,
      loadAlertmanager: measured.alertmanager.clientCpu / measured.alertmanager.requests,
    };
    const ingestAfter = await ingestTimes();
    const webhookTime = histogramDelta(ingestBefore.webhook, ingestAfter.webhook);
    const scriptTime = histogramDelta(ingestBefore.script, ingestAfter.script);
    const hermes = median('hermes');
    const am = median('alertmanager');
    return {
      hermes,
      alertmanager: am,
      ceiling: median('ceiling'),
      ratio: hermes.alertsPerSecond / am.alertsPerSecond,
      rounds: results.map((r) => ({
        hermes: r.hermes.alertsPerSecond,
        alertmanager: r.alertmanager.alertsPerSecond,
        ceiling: r.ceiling.alertsPerSecond,
      })),
      cpuPerRequest,
      ingestTime: {
        webhookMs: (1000 * webhookTime.sum) / webhookTime.count,
        scriptMs: (1000 * scriptTime.sum) / scriptTime.count,
        scriptsPerWebhook: scriptTime.count / webhookTime.count,
        cores: cpu.ingest / (1000 * measured.hermes.seconds),
      },
      machineBusy: {
        hermes: measured.hermes.busySeconds / measured.hermes.seconds,
        alertmanager: measured.alertmanager.busySeconds / measured.alertmanager.seconds,
      },
      cpuBoundRatio:
        (cpuPerRequest.alertmanager + cpuPerRequest.loadAlertmanager) /
        (cpuPerRequest.ingest + cpuPerRequest.redis + cpuPerRequest.loadHermes),
    };
  } finally {
    alertmanager.process.kill('SIGCONT');
    alertmanager.process.kill('SIGTERM');
    await ceiling.stop();
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
