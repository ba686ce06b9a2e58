import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { parse, stringify } from 'yaml';
import { randomId } from '../shared/ids.js';
import { keyspace } from '../shared/keys.js';
import { LearnedRules } from '../shared/learned-rules.js';
import { QUEUE } from '../shared/queues.js';
import type { ActionJob } from '../shared/schemas/jobs.js';
import { inProcessExecutor } from '../test/support/in-process-executor.js';
import { openIncident } from '../test/support/incidents.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { type RoundTripStep, RoundTrips } from '../test/support/round-trips.js';
import { LOCAL_TARGETS } from '../test/support/targets.js';
import { percentile, spawnService, waitForWorkers } from './services.js';

export interface ExecutorDecisions {
  p50Ms: number;
  p99Ms: number;
  inProcessPerSecond: number;
  actionsPerSecond: number;
  actions: number;
  decisions: Record<string, number>;
  /** Mean per decision on the in-process executor's connection (see RoundTrips). */
  roundTrips: number;
  commands: number;
  /** Where the round trips and the time waiting for Redis go, per decision. */
  steps: RoundTripStep[];
  /** Mean ms per decision: all of it, and waiting for Redis. */
  meanMs: number;
  redisMs: number;
  /** GC pauses in this process, ms per decision; decisions that overlapped one, and p99 of the others. */
  gcMs: number;
  duringGc: number;
  p99WithoutGcMs: number;
}

export interface ExecutorDecisionsOptions {
  /** Action jobs through a real executor process too (actions/s); off to time decisions alone. */
  throughQueue?: boolean;
  /** A learned rule in force for another (alertname, tool, resource): read on every decision, never fires. */
  learnedRule?: boolean;
}

const SEQUENTIAL = 2_000;
const THROUGH_QUEUE = 4_000;
const SERVICES = 50;

/**
 * The executor's whole decision per action — idempotency claim, policy tier and argument schema,
 * incident level, kill switch, backend precheck, breaker, rolling rate limits, then the record
 * (incident actions + timeline, hash-chained audit) — in dry-run so nothing runs. Latency: one action
 * at a time through ActionProcessor.handle on a real Redis. Throughput: action jobs through a real
 * executor process (default concurrency) from one addBulk until the last job finished. Change budgets
 * are on (roomy) and learned rules read; round trips are counted on the in-process executor's own
 * connection.
 */
export async function benchExecutorDecisions(
  options: ExecutorDecisionsOptions = {},
): Promise<ExecutorDecisions> {
  const { throughQueue = true, learnedRule = false } = options;
  const redisServer = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'everysec']);
  const dir = mkdtempSync(join(tmpdir(), 'hermes-bench-exec-'));
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, stringify(roomyPolicy()));
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const prefix = 'execbench';
  const keys = keyspace(prefix);
  const t = { url: redisServer.url, prefix, keys, redis, close: async () => {} };
  const notifications = new Queue(QUEUE.notifications.executor, {
    connection: redis,
    prefix: keys.bullPrefix,
  });
  const triage = new Queue(QUEUE.triage, { connection: redis, prefix: keys.bullPrefix });
  const actions = new Queue<ActionJob>(QUEUE.agentActions, { connection: redis, prefix: keys.bullPrefix });
  const counted = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const trips = new RoundTrips(counted);
  const executor = throughQueue
    ? await spawnService('executor', {
        REDIS_URL: redisServer.url,
        HERMES_PREFIX: prefix,
        LOG_LEVEL: 'error',
        EXECUTION_MODE: 'dry-run',
        POLICY_FILE: policyFile,
        TARGETS_FILE: LOCAL_TARGETS,
      })
    : null;
  try {
    const incidents = await Promise.all(
      Array.from({ length: SERVICES }, (_, i) =>
        openIncident(t, { alertname: 'ServiceDown', service: `svc-${i}`, level: 1 }),
      ),
    );
    const job = (i: number): ActionJob => ({
      actionId: randomId('act'),
      incidentId: incidents[i % SERVICES] as string,
      tool: 'restart_service',
      args: { service: `svc-${i % SERVICES}`, host: 'app-server-01', reason: 'bench' },
      requestedBy: 'agent',
    });

    if (learnedRule)
      await new LearnedRules(redis, keys).noteIneffective(
        { alertname: 'ServiceDown', tool: 'restart_service', resource: 'svc-elsewhere' },
        {
          incidentId: incidents[0] as string,
          actionId: randomId('act'),
          target: 'test-machine',
          verdict: 'ineffective',
          at: new Date().toISOString(),
        },
        { ineffectiveToConfirm: 1, windowSeconds: 3_600, cooldownSeconds: 3_600 },
      );
    const processor = inProcessExecutor({
      redis: counted,
      keys,
      policyFile,
      mode: 'dry-run',
      notifications,
      triage,
    });
    const decisions: Record<string, number> = {};
    for (let i = 0; i < 200; i++) await processor.handle(job(i), 'agent');
    trips.reset();
    const timings: { start: number; ms: number }[] = [];
    const pauses: { start: number; end: number }[] = [];
    const gc = new PerformanceObserver((list) => {
      for (const entry of list.getEntries())
        pauses.push({ start: entry.startTime, end: entry.startTime + entry.duration });
    });
    gc.observe({ entryTypes: ['gc'] });
    const sequentialStarted = performance.now();
    for (let i = 0; i < SEQUENTIAL; i++) {
      const t0 = performance.now();
      const outcome = await processor.handle(job(i), 'agent');
      timings.push({ start: t0, ms: performance.now() - t0 });
      decisions[outcome.decision] = (decisions[outcome.decision] ?? 0) + 1;
    }
    const sequentialMs = performance.now() - sequentialStarted;
    // GC entries are delivered after the fact: let the last ones arrive.
    await new Promise((resolve) => setTimeout(resolve, 50));
    gc.disconnect();
    const latencies = timings.map((timing) => timing.ms);
    const withoutGc = timings
      .filter(({ start, ms }) => !pauses.some((pause) => pause.start < start + ms && pause.end > start))
      .map((timing) => timing.ms)
      .sort((a, b) => a - b);
    const inProcessPerSecond = SEQUENTIAL / (sequentialMs / 1000);
    const steps = trips.byStep().map((step) => ({
      label: step.label,
      trips: step.trips / SEQUENTIAL,
      ms: step.ms / SEQUENTIAL,
    }));
    const timed = {
      roundTrips: trips.trips / SEQUENTIAL,
      commands: trips.commands / SEQUENTIAL,
      steps,
      meanMs: sequentialMs / SEQUENTIAL,
      gcMs: pauses.reduce((sum, pause) => sum + pause.end - pause.start, 0) / SEQUENTIAL,
      p99WithoutGcMs: percentile(withoutGc, 0.99),
      duringGc: SEQUENTIAL - withoutGc.length,
      redisMs: steps.reduce((sum, step) => sum + step.ms, 0),
    };
    latencies.sort((a, b) => a - b);
    const latency = {
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      inProcessPerSecond,
      decisions,
      ...timed,
    };
    if (!throughQueue) return { ...latency, actionsPerSecond: 0, actions: 0 };

    await waitForWorkers(actions, 1);
    const queued = Array.from({ length: THROUGH_QUEUE }, (_, i) => job(i));
    const started = performance.now();
    await actions.addBulk(queued.map((data) => ({ name: 'action', data, opts: { jobId: data.actionId } })));
    const deadline = Date.now() + 120_000;
    for (;;) {
      const counts = await actions.getJobCounts('completed', 'failed');
      if ((counts.completed ?? 0) + (counts.failed ?? 0) >= THROUGH_QUEUE) break;
      if (Date.now() > deadline) throw new Error(`executor did not finish: ${JSON.stringify(counts)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    return { ...latency, actionsPerSecond: THROUGH_QUEUE / seconds, actions: THROUGH_QUEUE };
  } finally {
    await executor?.stop();
    await Promise.all([notifications.close(), triage.close(), actions.close()]);
    redis.disconnect();
    counted.disconnect();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** config/policy.yaml with limits high enough that every action in the run is allowed. */
function roomyPolicy(): unknown {
  const policy = parse(readFileSync(resolve(import.meta.dirname, '../config/policy.yaml'), 'utf8'));
  policy.limits.stateChangesPerHour = 1_000_000;
  policy.tools.restart_service.rateLimit.max = 1_000_000;
  // Budgets on, but roomy: every decision takes (and keeps) a slot, as in a real run.
  policy.budgets = { maxInFlight: 1_000_000, maxInFlightFleet: 1_000_000 };
  return policy;
}
