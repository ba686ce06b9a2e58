import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { parse, stringify } from 'yaml';
import { ingestEnvSchema } from '../services/ingest/env.js';
import { type IngestHandle, startIngest } from '../services/ingest/service.js';
import { parseEnv } from '../shared/env.js';
import { randomId } from '../shared/ids.js';
import { IncidentStore } from '../shared/incidents.js';
import { type Keyspace, keyspace } from '../shared/keys.js';
import { createLogger } from '../shared/logger.js';
import { QUEUE } from '../shared/queues.js';
import type { ActionJob } from '../shared/schemas/jobs.js';
import { RECORD_RUN } from '../test/support/executor-harness.js';
import { inProcessExecutor } from '../test/support/in-process-executor.js';
import { startPagedNotifier } from '../test/support/paging.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { percentile } from './services.js';

const TARGETS = 1_000;
const REGIONS = ['eu-west', 'us-east', 'ap-south'];
/** Storms measured for the crossing alert's latency, each on its own resource. */
const STORMS = 30;
/** Alertmanager re-sends a group whole: the first notification, then every `STEP` more alerts. */
const STEP = 100;
const TOKEN = 'fleet-storm-bench';

export interface FleetStorm {
  targets: number;
  storms: number;
  /** POST of the notification whose alerts cross a widespread threshold → 202, the fleet incident open. */
  crossingP50Ms: number;
  crossingP99Ms: number;
  /** POSTs whose alerts join an open fleet incident (Alertmanager re-sends the growing group). */
  joiningP99Ms: number;
  alertsPosted: number;
  members: number;
  regions: number;
  /** Pages per channel for one storm (one fleet incident), once the notifier is done. */
  pages: { pagerduty: number; slack: number; email: number };
  /** The executor deciding every member's restart while the fleet incident is open: what ran. */
  changesRunWithFleet: number;
  heldWithFleet: number;
  /** The same storm with the widespread rules out of reach: budgets and region by region alone. */
  changesRunBudgetsOnly: number;
  decisionsPerSecond: { budgetsOn: number; budgetsOff: number };
}

/**
 * A bad deploy on 1,000 targets in three regions, as Alertmanager delivers it: the first alert alone,
 * then the whole growing group every 100 alerts. Ingest (HTTP, in this process) detects the fleet;
 * the executor (in this process, local targets, the record-run fixture as systemctl) decides every
 * member's restart; the notifier pages through fake PagerDuty and Slack and a real SMTP server.
 * Ingest places alerts on one ssh target per region (one place per host); nothing connects to them.
 */
export async function benchFleetStorm(): Promise<FleetStorm> {
  const server = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'everysec']);
  const dir = mkdtempSync(join(tmpdir(), 'hermes-bench-fleet-'));
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const targetsFile = join(dir, 'targets.yaml');
    writeFileSync(targetsFile, stringify({ version: 1, targets: REGIONS.map(regionTarget(dir)) }));
    const marker = join(dir, 'runs.log');
    const shipped = policyFile(dir, 'shipped.yaml', marker, (policy) => policy);
    const nofleet = policyFile(dir, 'no-fleet.yaml', marker, (policy) => ({
      ...policy,
      widespread: { minRegions: 1_000, minTargets: 1_000_000, minFraction: 1 },
    }));
    const roomy = policyFile(dir, 'roomy.yaml', marker, (policy) => ({
      ...policy,
      widespread: { minRegions: 1_000, minTargets: 1_000_000, minFraction: 1 },
      budgets: { maxInFlight: 1_000_000, maxInFlightFleet: 1_000_000 },
    }));
    const withFleet = await world(server.url, 'fleet', targetsFile, shipped, closers);

    const crossing: number[] = [];
    const joining: number[] = [];
    let alertsPosted = 0;
    for (let storm = 0; storm < STORMS; storm++) {
      const resource = `api-${storm}`;
      const alerts = Array.from({ length: TARGETS }, (_, i) => alert(resource, i));
      for (let sent = 1; sent <= TARGETS; sent = sent === 1 ? STEP : sent + STEP) {
        const body = webhook(alerts.slice(0, sent));
        const open = await redis.hget(withFleet.keys.fleetOpen(resource), 'ServiceDown');
        const t0 = performance.now();
        await withFleet.post(body);
        const ms = performance.now() - t0;
        alertsPosted += sent;
        if (open) joining.push(ms);
        else if (await redis.hget(withFleet.keys.fleetOpen(resource), 'ServiceDown')) crossing.push(ms);
      }
      if (crossing.length !== storm + 1) throw new Error(`storm ${storm} opened no fleet incident`);
    }
    const fleetId = (await redis.hget(withFleet.keys.fleetOpen('api-0'), 'ServiceDown')) as string;
    const members = await redis.scard(withFleet.keys.fleetMembers(fleetId));
    const regions = new Set(Object.values(await redis.hgetall(withFleet.keys.fleetPlaces(fleetId)))).size;

    const fleetRun = await decideAll(withFleet, shipped, 'live', 'api-0', marker);
    // Pages: one more storm, with the notifier running (it works through every member's notice too).
    const paged = await world(server.url, 'paged', targetsFile, shipped, closers);
    const pages = await startChannels(server.url, paged.keys, closers);
    const pagedAlerts = Array.from({ length: TARGETS }, (_, i) => alert('api-paged', i));
    for (let sent = 1; sent <= TARGETS; sent = sent === 1 ? STEP : sent + STEP)
      await paged.post(webhook(pagedAlerts.slice(0, sent)));
    const budgetsOnly = await world(server.url, 'nofleet', targetsFile, nofleet, closers);
    await budgetsOnly.post(webhook(Array.from({ length: TARGETS }, (_, i) => alert('api-x', i))));
    const budgetRun = await decideAll(budgetsOnly, nofleet, 'live', 'api-x', marker);

    const on = await world(server.url, 'on', targetsFile, nofleet, closers);
    await on.post(webhook(Array.from({ length: TARGETS }, (_, i) => alert('api-on', i, 'eu-west'))));
    const off = await world(server.url, 'off', targetsFile, roomy, closers);
    await off.post(webhook(Array.from({ length: TARGETS }, (_, i) => alert('api-off', i, 'eu-west'))));
    const budgetsOn = await decideAll(on, nofleet, 'dry-run', 'api-on', marker);
    const budgetsOff = await decideAll(off, roomy, 'dry-run', 'api-off', marker);

    crossing.sort((a, b) => a - b);
    joining.sort((a, b) => a - b);
    return {
      targets: TARGETS,
      storms: STORMS,
      crossingP50Ms: percentile(crossing, 0.5),
      crossingP99Ms: percentile(crossing, 0.99),
      joiningP99Ms: percentile(joining, 0.99),
      alertsPosted,
      members,
      regions,
      changesRunWithFleet: fleetRun.ran,
      heldWithFleet: fleetRun.decisions.held ?? 0,
      changesRunBudgetsOnly: budgetRun.ran,
      pages: await pages.settled(),
      decisionsPerSecond: { budgetsOn: budgetsOn.perSecond, budgetsOff: budgetsOff.perSecond },
    };
  } finally {
    for (const close of closers.reverse()) await close();
    redis.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One ssh target per region, matched by the alert's region label: ingest places each host apart. */
function regionTarget(dir: string) {
  return (region: string) => ({
    name: region,
    match: { region },
    kind: 'ssh',
    topology: { region },
    ssh: { user: 'hermes', knownHosts: join(dir, 'known_hosts'), keys: { read: 'none', write: 'none' } },
  });
}

/** The shipped policy with its restarts run by the record-run fixture, then `edit`. */
function policyFile(
  dir: string,
  name: string,
  marker: string,
  edit: (policy: Record<string, unknown>) => Record<string, unknown>,
): string {
  const policy = parse(readFileSync(resolve(import.meta.dirname, '../config/policy.yaml'), 'utf8'));
  policy.tools.restart_service.backend.argv = [process.execPath, RECORD_RUN, marker, '0', '{service}'];
  policy.limits.stateChangesPerHour = 1_000_000;
  policy.tools.restart_service.rateLimit.max = 1_000_000;
  const path = join(dir, name);
  writeFileSync(path, stringify(edit(policy)));
  return path;
}

function alert(resource: string, i: number, region = REGIONS[i % REGIONS.length] as string) {
  const host = `${resource}-host-${String(i).padStart(4, '0')}`;
  return {
    status: 'firing',
    labels: {
      alertname: 'ServiceDown',
      severity: 'critical',
      service: resource,
      instance: `${host}:9100`,
      region,
    },
    annotations: { summary: `${resource} is down on ${host}` },
    startsAt: '2026-12-07T09:00:00.000Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.bench/graph',
    fingerprint: createHash('sha256').update(host).digest('hex').slice(0, 16),
  };
}

function webhook(alerts: ReturnType<typeof alert>[]) {
  return JSON.stringify({
    version: '4',
    groupKey: '{}:{alertname="ServiceDown"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'hermes',
    groupLabels: { alertname: 'ServiceDown' },
    commonLabels: { alertname: 'ServiceDown' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.bench',
    alerts,
  });
}

interface World {
  url: string;
  keys: Keyspace;
  post(body: string): Promise<void>;
}

async function world(
  url: string,
  prefix: string,
  targetsFile: string,
  policy: string,
  closers: (() => Promise<unknown>)[],
): Promise<World> {
  const ingest: IngestHandle = await startIngest(
    parseEnv(ingestEnvSchema, {
      REDIS_URL: url,
      HERMES_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      PORT: '0',
      HOST: '127.0.0.1',
      INGEST_TOKEN: TOKEN,
      TARGETS_FILE: targetsFile,
      POLICY_FILE: policy,
      // The storm guard would coalesce most of the 1,000 into one storm incident: measured apart.
      STORM_THRESHOLD: '1000000',
    }),
    { logger: createLogger('bench-ingest', 'silent') },
  );
  closers.push(() => ingest.close());
  return {
    url,
    keys: keyspace(prefix),
    async post(body) {
      const response = await fetch(`${ingest.url}/webhooks/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body,
      });
      if (response.status !== 202)
        throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
    },
  };
}

/** Every incident of `resource` asks for its restart, as triage would: what the executor decided. */
async function decideAll(
  w: World,
  policyFile: string,
  mode: 'live' | 'dry-run',
  resource: string,
  marker: string,
): Promise<{ ran: number; decisions: Record<string, number>; perSecond: number }> {
  const redis = new Redis(w.url, { maxRetriesPerRequest: null });
  const queue = (name: string) => new Queue(name, { connection: redis, prefix: w.keys.bullPrefix });
  const notifications = queue(QUEUE.notifications.executor);
  const triage = queue(QUEUE.triage);
  try {
    const processor = inProcessExecutor({ redis, keys: w.keys, policyFile, mode, notifications, triage });
    const store = new IncidentStore(redis, w.keys);
    const incidents: string[] = [];
    for (let cursor: string | null = null; ; ) {
      const page = await store.list({ limit: 500, ...(cursor ? { cursor } : {}) });
      for (const incident of page.incidents)
        if (incident.service === resource && incident.level < 3) incidents.push(incident.id);
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    const before = runs(marker);
    const decisions: Record<string, number> = {};
    const started = performance.now();
    for (const incidentId of incidents) {
      const job: ActionJob = {
        actionId: randomId('act'),
        incidentId,
        tool: 'restart_service',
        args: {
          service: resource,
          host: 'localhost',
          reason: 'bench: the runbook restarts a service that is down',
        },
        requestedBy: 'agent',
      };
      const outcome = await processor.handle(job, 'agent');
      decisions[outcome.decision] = (decisions[outcome.decision] ?? 0) + 1;
    }
    const seconds = (performance.now() - started) / 1000;
    return { ran: runs(marker) - before, decisions, perSecond: incidents.length / seconds };
  } finally {
    await Promise.all([notifications.close(), triage.close()]);
    redis.disconnect();
  }
}

function runs(marker: string): number {
  try {
    return readFileSync(marker, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

async function startChannels(url: string, keys: Keyspace, closers: (() => Promise<unknown>)[]) {
  const notifier = await startPagedNotifier({ url, prefix: keys.bullPrefix.slice(1, -1) });
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE.notifications.ingest, { connection, prefix: keys.bullPrefix });
  closers.push(async () => {
    await queue.close();
    connection.disconnect();
    await notifier.close();
  });
  return {
    /** Pages per channel, once the notifier has worked through its queue. */
    async settled() {
      for (;;) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        if (Object.values(counts).every((n) => n === 0)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      return notifier.pages();
    },
  };
}
