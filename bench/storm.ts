import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { keyspace } from '../shared/keys.js';
import { QUEUE, triageJobId } from '../shared/queues.js';
import { startRedisServer } from '../test/support/redis-server.js';
import type { BenchAlert } from './load.js';
import { percentile, rssMiB, spawnService, waitForWorkers } from './services.js';

export interface StormResult {
  alertsSent: number;
  alertsAccepted: number;
  sendSeconds: number;
  postP99Ms: number;
  errors: number;
  distinctCorrelated: number;
  incidentsOpened: number;
  investigations: number;
  investigationsPer1000: number;
  stormThreshold: number;
  triageBudget: number;
  maxTriageQueued: number;
  probePickupMs: number | null;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  rssAfterMiB: number;
  /** After each further unpaced storm of as many new alerts: level once memory is flat. */
  rssAfterMoreMiB: number[];
}

const SERVICES = 500;
const ALERTNAMES = ['ServiceDown', 'HighLatency', 'QueueBacklog', 'DiskSpaceLow'];
const PODS = 5;
const ALERTS = SERVICES * ALERTNAMES.length * PODS;
const BATCH = 100;
const SECONDS = 10;
const STORM_THRESHOLD = 50;
const TRIAGE_BUDGET = 20;
const PREFIX = 'storm';
const WARMUP_BATCHES = 50;
const MORE_STORMS = 8;

/**
 * 10,000 alerts over 500 services in 10 s (4 alertnames × 5 pods per service: 2,000 correlated
 * incidents), sent in paced batches of 100 to a real ingest process, with real triage (runbook
 * planner) and executor (dry-run) processes working. Halfway through, one new critical level-1 alert
 * (the probe) arrives; we measure how long until a triage worker picks its incident up.
 */
export async function benchStorm(): Promise<StormResult> {
  const redisServer = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'everysec']);
  const common = { REDIS_URL: redisServer.url, HERMES_PREFIX: PREFIX, LOG_LEVEL: 'error' };
  const ingest = await spawnService('ingest', {
    ...common,
    STORM_THRESHOLD: String(STORM_THRESHOLD),
    STORM_WINDOW_SECONDS: '60',
    STORM_TRIAGE_BUDGET: String(TRIAGE_BUDGET),
  });
  const executor = await spawnService('executor', { ...common, EXECUTION_MODE: 'dry-run' });
  // A zero verification window: a dry-run fix never clears the alert, so the incident escalates at once.
  const triage = await spawnService('triage', { ...common, PLANNER: 'runbook', VERIFY_WINDOW_SECONDS: '0' });
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const keys = keyspace(PREFIX);
  const triageQueue = new Queue(QUEUE.triage, { connection: redis, prefix: keys.bullPrefix });
  const actionQueue = new Queue(QUEUE.agentActions, { connection: redis, prefix: keys.bullPrefix });
  const post = (alerts: BenchAlert[]) => postWebhook(`${ingest.url}/webhooks/alertmanager`, alerts);
  try {
    await waitForWorkers(triageQueue, 1);
    await waitForWorkers(actionQueue, 1);
    // Warm-up on the same code path without opening incidents to triage: resolved alerts never seen firing.
    const warmup = warmupAlerts(WARMUP_BATCHES * BATCH);
    for (let i = 0; i < warmup.length; i += BATCH) await post(warmup.slice(i, i + BATCH));
    const rssBeforeMiB = rssMiB(ingest.process.pid);
    const incidentsBefore = await redis.zcard(keys.incidentIndex);

    const alerts = stormAlerts();
    const batches: BenchAlert[][] = [];
    for (let i = 0; i < alerts.length; i += BATCH) batches.push(alerts.slice(i, i + BATCH));
    const interval = (SECONDS * 1000) / batches.length;
    let rssPeakMiB = rssBeforeMiB;
    let maxTriageQueued = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        rssPeakMiB = Math.max(rssPeakMiB, rssMiB(ingest.process.pid));
        const counts = await triageQueue.getJobCounts('waiting', 'prioritized', 'delayed');
        maxTriageQueued = Math.max(maxTriageQueued, (counts.waiting ?? 0) + (counts.prioritized ?? 0));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const started = Date.now();
    const latencies: number[] = [];
    let accepted = 0;
    let errors = 0;
    let probe: Promise<{ incidentId: string; sentAt: number } | null> = Promise.resolve(null);
    await Promise.all(
      batches.map(async (batch, i) => {
        await sleepUntil(started + i * interval);
        if (i === batches.length / 2) probe = sendProbe(post);
        const t0 = performance.now();
        const reply = await post(batch).catch(() => null);
        latencies.push(performance.now() - t0);
        if (reply) accepted += reply.accepted;
        else errors++;
      }),
    );
    const sendSeconds = (Date.now() - started) / 1000;
    const probed = await probe;

    const drainDeadline = Date.now() + 120_000;
    for (;;) {
      const counts = await triageQueue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
      if (Object.values(counts).every((n) => n === 0)) break;
      if (Date.now() > drainDeadline) throw new Error(`triage did not drain: ${JSON.stringify(counts)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    sampling = false;
    await sampler;
    const rssAfterMiB = rssMiB(ingest.process.pid);
    const done = await triageQueue.getJobCounts('completed', 'failed');
    const investigations = (done.completed ?? 0) + (done.failed ?? 0);
    // More unpaced storms of new alerts: enough to fill ingest's recent-alert cache (50,000) and go past it.
    const rssAfterMoreMiB: number[] = [];
    for (let storm = 0; storm < MORE_STORMS; storm++) {
      const more = stormAlerts();
      for (let i = 0; i < more.length; i += BATCH) await post(more.slice(i, i + BATCH));
      rssAfterMoreMiB.push(rssMiB(ingest.process.pid));
    }
    let probePickupMs: number | null = null;
    if (probed) {
      const job = await triageQueue.getJob(triageJobId(probed.incidentId));
      if (job?.processedOn) probePickupMs = job.processedOn - probed.sentAt;
    }
    latencies.sort((a, b) => a - b);
    return {
      alertsSent: alerts.length,
      alertsAccepted: accepted,
      sendSeconds,
      postP99Ms: percentile(latencies, 0.99),
      errors,
      distinctCorrelated: SERVICES * ALERTNAMES.length,
      incidentsOpened: (await redis.zcard(keys.incidentIndex)) - incidentsBefore,
      investigations,
      investigationsPer1000: (investigations * 1000) / accepted,
      stormThreshold: STORM_THRESHOLD,
      triageBudget: TRIAGE_BUDGET,
      maxTriageQueued,
      probePickupMs,
      rssBeforeMiB,
      rssPeakMiB,
      rssAfterMiB,
      rssAfterMoreMiB,
    };
  } finally {
    await Promise.all([triageQueue.close(), actionQueue.close()]);
    redis.disconnect();
    await triage.stop();
    await executor.stop();
    await ingest.stop();
    await redisServer.stop();
  }
}

/** Service s, alertname a, pod p: pods of one service and alertname correlate into one incident. */
function stormAlerts(): BenchAlert[] {
  const startsAt = new Date().toISOString();
  return Array.from({ length: ALERTS }, (_, i) => {
    const service = i % SERVICES;
    const alertname = ALERTNAMES[Math.floor(i / SERVICES) % ALERTNAMES.length] as string;
    const pod = Math.floor(i / (SERVICES * ALERTNAMES.length));
    const critical = alertname === 'ServiceDown' && service % 20 === 0;
    return {
      labels: {
        alertname,
        service: `svc-${service}`,
        instance: `svc-${service}.prod:8080`,
        pod: `svc-${service}-${pod}`,
        severity: critical ? 'critical' : 'warning',
      },
      annotations: { summary: `${alertname} on svc-${service}` },
      startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.bench/graph',
      fingerprint: randomBytes(8).toString('hex'),
    };
  });
}

function warmupAlerts(count: number): (BenchAlert & { status: 'resolved' })[] {
  return stormAlerts()
    .slice(0, count)
    .map((a) => ({
      ...a,
      status: 'resolved',
      labels: { ...a.labels, service: `warmup-${a.labels.service}` },
    }));
}

async function sendProbe(
  post: (alerts: BenchAlert[]) => Promise<{ incidents: string[] }>,
): Promise<{ incidentId: string; sentAt: number }> {
  const [alert] = stormAlerts();
  const sentAt = Date.now();
  const reply = await post([
    {
      ...(alert as BenchAlert),
      labels: {
        alertname: 'ServiceDown',
        service: 'checkout',
        instance: 'checkout.prod:8080',
        severity: 'critical',
      },
    },
  ]);
  const incidentId = reply.incidents[0];
  if (!incidentId) throw new Error('the probe alert opened no incident');
  return { incidentId, sentAt };
}

async function postWebhook(
  url: string,
  alerts: (BenchAlert & { status?: 'firing' | 'resolved' })[],
): Promise<{ accepted: number; incidents: string[] }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      version: '4',
      groupKey: 'storm',
      status: 'firing',
      receiver: 'hermes',
      alerts: alerts.map((a) => ({ status: 'firing', ...a })),
    }),
  });
  if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { accepted: number; incidents: string[] };
}

function sleepUntil(at: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
}
