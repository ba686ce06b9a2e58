import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parse, stringify } from 'yaml';
import { executorEnvSchema } from '../../services/executor/env.js';
import { startExecutor } from '../../services/executor/service.js';
import { triageEnvSchema } from '../../services/triage/env.js';
import {
  checkScenario,
  SCENARIOS,
  type Scenario,
  type ScenarioCheck,
} from '../../services/triage/scenarios.js';
import { startTriage } from '../../services/triage/service.js';
import { parseEnv } from '../../shared/env.js';
import { IncidentStore } from '../../shared/incidents.js';
import { keyspace } from '../../shared/keys.js';
import { createQueue, QUEUE } from '../../shared/queues.js';
import type { Incident } from '../../shared/schemas/incident.js';
import type { TriageJob } from '../../shared/schemas/jobs.js';
import { RECORD_RUN } from './executor-harness.js';
import { type FakePrometheus, type Sample, startFakePrometheus } from './fake-prometheus.js';
import { openIncident } from './incidents.js';
import type { TestRedis } from './redis.js';
import { LOCAL_TARGETS } from './targets.js';

/**
 * config/policy.yaml with every backend replaced by the record-run fixture (a real process that
 * records its arguments and succeeds): decisions, limits and approvals as shipped, no real change.
 */
function recordingPolicy(dir: string): string {
  const policy = parse(readFileSync('config/policy.yaml', 'utf8'));
  for (const [name, tool] of Object.entries(
    policy.tools as Record<string, { backend?: unknown; args?: Record<string, unknown> }>,
  )) {
    if (!tool.backend) continue;
    const subject = tool.args?.service ? '{service}' : tool.args?.host ? '{host}' : name;
    tool.backend = {
      kind: 'command',
      argv: [process.execPath, RECORD_RUN, join(dir, 'runs.log'), '0', name, subject],
    };
  }
  const path = join(dir, 'policy.yaml');
  writeFileSync(path, stringify(policy));
  return path;
}

/**
 * The simulated world the scenarios run in: real Redis, the real executor (live, on recording backends),
 * triage, a Prometheus that answers per scenario host, and a log directory with the scenarios' logs.
 * Used by the scenario tests and by `npm run eval`.
 */
export interface World {
  t: TestRedis;
  store: IncidentStore;
  prometheus: FakePrometheus;
  logDir: string;
  /** Alertnames whose alert expression still matches in Prometheus (a fix that did not work). */
  stillFiring: Set<string>;
  open(scenario: Scenario): Promise<string>;
  /** Waits until triage's job for the incident has finished and the incident is past diagnosing and verifying. */
  settled(id: string, timeoutMs?: number): Promise<Incident>;
  run(scenario: Scenario, timeoutMs?: number): Promise<{ incident: Incident; checks: ScenarioCheck[] }>;
  close(): Promise<void>;
}

export interface WorldOptions {
  redisUrl: string;
  prefix?: string;
  triageEnv?: Record<string, string>;
  executorEnv?: Record<string, string>;
}

export async function startWorld(options: WorldOptions): Promise<World> {
  const prefix = options.prefix ?? `w-${randomBytes(5).toString('hex')}`;
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const t: TestRedis = {
    url: options.redisUrl,
    prefix,
    keys: keyspace(prefix),
    redis,
    close: async () => {
      redis.disconnect();
    },
  };
  const logDir = mkdtempSync(join(tmpdir(), 'hermes-world-logs-'));
  for (const scenario of SCENARIOS) {
    for (const [service, lines] of Object.entries(scenario.logs)) {
      writeFileSync(join(logDir, `${service}.log`), `${lines.join('\n')}\n`);
    }
  }
  const stillFiring = new Set<string>();
  const prometheus = await startFakePrometheus((query) => answer(query, stillFiring));
  const base = {
    REDIS_URL: options.redisUrl,
    HERMES_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    TARGETS_FILE: LOCAL_TARGETS,
  };
  const executor = await startExecutor(
    parseEnv(executorEnvSchema, {
      ...base,
      EXECUTION_MODE: 'live',
      POLICY_FILE: recordingPolicy(logDir),
      ...options.executorEnv,
    }),
  );
  const triage = await startTriage(
    parseEnv(triageEnvSchema, {
      ...base,
      PROMETHEUS_URL: prometheus.url,
      LOG_DIR: logDir,
      VERIFY_WINDOW_SECONDS: '1',
      VERIFY_INTERVAL_MS: '50',
      LLM_MAX_RETRIES: '0',
      ...options.triageEnv,
    }),
  );
  const store = new IncidentStore(redis, t.keys);
  const triageQueue = createQueue<TriageJob>(QUEUE.triage, redis, t.keys.bullPrefix);

  const world: World = {
    t,
    store,
    prometheus,
    logDir,
    stillFiring,
    open: (scenario) => openIncident(t, scenario.alert),
    async settled(id, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const state = await triageQueue.getJobState(`triage-${id}`);
        const incident = await store.get(id);
        const done = state === 'completed' || state === 'failed';
        if (done && incident && !['open', 'diagnosing', 'verifying'].includes(incident.status))
          return incident;
        if (Date.now() > deadline)
          throw new Error(`incident ${id} still ${incident?.status} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async run(scenario, timeoutMs) {
      const incident = await world.settled(await world.open(scenario), timeoutMs);
      return { incident, checks: checkScenario(scenario, incident) };
    },
    async close() {
      await triageQueue.close();
      await triage.close();
      await executor.close();
      await prometheus.close();
      redis.disconnect();
    },
  };
  return world;
}

/** Metrics of the scenario whose host the query names; alert expressions match only while still firing. */
function answer(query: string, stillFiring: Set<string>): Sample[] {
  const alert = SCENARIOS.find((s) => s.alert.alertname === query);
  if (alert) return stillFiring.has(query) ? [{ metric: { alertname: query }, value: 1 }] : [];
  const scenario = SCENARIOS.find((s) => query.includes(s.alert.instance)) ?? undefined;
  const candidates = scenario ? [scenario] : SCENARIOS;
  for (const s of candidates) {
    const metric = s.metrics.find((m) => query.includes(m.match));
    if (metric)
      return [{ metric: { instance: `${s.alert.instance}:9100`, ...metric.labels }, value: metric.value }];
  }
  return [];
}
