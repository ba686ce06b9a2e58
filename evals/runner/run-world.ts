import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { webhookEnvelope } from '../../bin/webhook.js';
import { executorEnvSchema } from '../../services/executor/env.js';
import { startExecutor } from '../../services/executor/service.js';
import { createClassifier } from '../../services/ingest/classify.js';
import { createCorrelator } from '../../services/ingest/correlation.js';
import { Intake } from '../../services/ingest/intake.js';
import { ActionClient } from '../../services/triage/actions.js';
import { type TriageEnv, triageEnvSchema } from '../../services/triage/env.js';
import { Investigator } from '../../services/triage/investigate.js';
import type { Diagnosis } from '../../services/triage/llm/diagnosis.js';
import { LlmPlanner } from '../../services/triage/planners/llm.js';
import { RunbookPlanner } from '../../services/triage/planners/runbook.js';
import type { RunbookFile } from '../../services/triage/planners/runbooks.js';
import { agentBudget, modelSettings } from '../../services/triage/service.js';
import type { DiagnosisAllowlist } from '../../services/triage/tools/diagnosis.js';
import { FileLogSource } from '../../services/triage/tools/logs.js';
import { localReads, TargetReads } from '../../services/triage/tools/target-reads.js';
import { Toolbox } from '../../services/triage/tools/toolbox.js';
import { Verifier } from '../../services/triage/verify.js';
import { sha256 } from '../../shared/canonical.js';
import { parseEnv } from '../../shared/env.js';
import { IncidentStore } from '../../shared/incidents.js';
import { type Keyspace, keyspace } from '../../shared/keys.js';
import { createLogger } from '../../shared/logger.js';
import { NotificationOutbox } from '../../shared/outbox.js';
import { createQueue, createQueueEvents, QUEUE } from '../../shared/queues.js';
import { createRedis, type RedisConnection } from '../../shared/redis.js';
import { SshPool } from '../../shared/remote/ssh.js';
import type { Alert } from '../../shared/schemas/alertmanager.js';
import type { IncidentStatus } from '../../shared/schemas/incident.js';
import type { NotificationJob, TriageJob } from '../../shared/schemas/jobs.js';
import { Targets } from '../../shared/targets/targets.js';
import { dryBackends } from './dry-backends.js';
import { MeteredModel, ObservedPlanner } from './observed.js';
import { recordedReads } from './recorded-reads.js';
import type { World } from './world.js';

/** One tool call of the agent as the timeline records it, with the executor's decision if it got one. */
export interface AgentRequest {
  tool: string;
  args: unknown;
  ok: boolean;
  decision?: string;
  reason?: string;
}

/** What happened in one run of one world: the agent's requests, its answer and its cost. */
export interface WorldOutcome {
  requests: AgentRequest[];
  /** The planner that answered; null when none ran (a level-3 incident escalates without one). */
  planner: 'llm' | 'runbook' | null;
  /** The model failed mid-incident (its error): the runbook fallback that finished is not scored. */
  modelFailure?: string;
  summary: string;
  diagnosis?: Diagnosis;
  diagnosisError?: string;
  status: IncidentStatus;
  turns: number;
  promptTokens: number;
  completionTokens: number;
  wallMs: number;
}

export interface EvalSettings {
  redisUrl: string;
  planner: 'llm' | 'runbook';
  policyFile: string;
  runbooks: RunbookFile;
  allowlist: DiagnosisAllowlist;
  /** Triage's variables for the model and its budgets (HERMES_BASE_URL, LLM_*), as the service reads them. */
  triageEnv: Record<string, string>;
}

const BY_TRIAGE = 'triage';

/**
 * Runs one world through the real code: its alerts through ingest, the incident through triage's
 * investigation (the real agent or runbook planner, every read answered from the world's recordings),
 * every state change decided by the real executor against the real policy and the world's targets,
 * in dry-run with backends that contact nothing. Each run has its own Redis prefix, so limits,
 * breaker and approvals never carry over between worlds or runs.
 */
export async function runWorld(world: World, settings: EvalSettings): Promise<WorldOutcome> {
  const prefix = `eval-${randomBytes(5).toString('hex')}`;
  const keys = keyspace(prefix);
  const dir = mkdtempSync(join(tmpdir(), 'hermes-eval-'));
  const targetsFile = join(dir, 'targets.yaml');
  writeFileSync(targetsFile, stringify({ version: 1, targets: world.targets }));
  const base = {
    REDIS_URL: settings.redisUrl,
    HERMES_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    TARGETS_FILE: targetsFile,
  };
  const env: TriageEnv = parseEnv(triageEnvSchema, {
    ...base,
    ...settings.triageEnv,
    PLANNER: settings.planner,
  });
  const executor = await startExecutor(
    parseEnv(executorEnvSchema, { ...base, EXECUTION_MODE: 'dry-run', POLICY_FILE: settings.policyFile }),
    { backends: dryBackends },
  );
  const command = createRedis(env, 'blocking');
  const events = createRedis(env, 'blocking');
  const store = new IncidentStore(command, keys);
  const triageQueue = createQueue<TriageJob>(QUEUE.triage, command, keys.bullPrefix);
  const actionQueue = createQueue(QUEUE.agentActions, command, keys.bullPrefix);
  const notifications = createQueue<NotificationJob>(QUEUE.notifications.triage, command, keys.bullPrefix);
  const actionEvents = createQueueEvents(QUEUE.agentActions, events, keys.bullPrefix);
  // For the scope only: every read is answered from the recordings.
  const targetReads = new TargetReads(
    new Targets(world.targets),
    store,
    new SshPool(),
    env.DIAGNOSIS_TIMEOUT_MS,
    localReads({
      logs: new FileLogSource(new Map(), undefined),
      allowlist: settings.allowlist,
      diagnosisTimeoutMs: env.DIAGNOSIS_TIMEOUT_MS,
      hasPrometheus: false,
    }),
  );
  try {
    await actionEvents.waitUntilReady();
    const actions = new ActionClient(actionQueue, actionEvents, env.ACTION_TIMEOUT_MS, store);
    const toolbox = new Toolbox({
      store,
      actions,
      notifications,
      targets: targetReads,
      outputMaxChars: env.TOOL_OUTPUT_MAX_CHARS,
      recordedReads: recordedReads(world),
    });
    const model = new MeteredModel(modelSettings(env));
    const llm = new ObservedPlanner(new LlmPlanner(model, toolbox, agentBudget(env)));
    const runbook = new ObservedPlanner(new RunbookPlanner({ current: settings.runbooks }, toolbox));
    const investigator = new Investigator({
      redis: command,
      backlogKey: keys.triageBacklog,
      store,
      outbox: new NotificationOutbox(command, keys, 'triage', notifications),
      actions,
      toolbox,
      verifier: new Verifier(store, undefined),
      triage: triageQueue,
      verifyWindowMs: env.VERIFY_WINDOW_SECONDS * 1000,
      verifyIntervalMs: env.VERIFY_INTERVAL_MS,
      llm,
      runbook,
      model,
      mode: env.PLANNER,
      logger: createLogger('triage', 'silent'),
      // The recordings answer logs and resources: a level-3 incident gathers them before escalating.
      hasLogSource: true,
      hasPrometheus: true,
    });

    const started = Date.now();
    const incidentId = await ingestWorld(command, keys, world);
    await investigator.handle({ incidentId, trigger: 'alert' }, new AbortController().signal);
    const wallMs = Date.now() - started;
    const incident = await store.get(incidentId);
    if (!incident) throw new Error(`world ${world.id}: incident ${incidentId} disappeared`);
    const reasons = new Map(incident.actions.map((action) => [action.id, action.reason]));
    const requests: AgentRequest[] = incident.timeline.flatMap((entry) => {
      if (entry.type !== 'tool_call' || entry.by !== BY_TRIAGE || !entry.tool) return [];
      const decision = typeof entry.decision === 'string' ? entry.decision : undefined;
      const reason = typeof entry.actionId === 'string' ? reasons.get(entry.actionId) : undefined;
      return [
        {
          tool: entry.tool,
          args: entry.args,
          ok: entry.ok === true,
          ...(decision ? { decision } : {}),
          ...(reason ? { reason } : {}),
        },
      ];
    });
    const answered = llm.result ?? runbook.result;
    return {
      requests,
      planner: llm.result ? 'llm' : runbook.result ? 'runbook' : null,
      ...(llm.failure ? { modelFailure: llm.failure } : {}),
      summary: answered?.summary ?? '',
      ...(answered?.diagnosis ? { diagnosis: answered.diagnosis } : {}),
      ...(answered?.diagnosisError ? { diagnosisError: answered.diagnosisError } : {}),
      status: incident.status,
      turns: model.turns,
      promptTokens: model.promptTokens,
      completionTokens: model.completionTokens,
      wallMs,
    };
  } finally {
    await executor.close();
    await actionEvents.close();
    await Promise.all([triageQueue.close(), actionQueue.close(), notifications.close()]);
    targetReads.close();
    await dropKeys(command, prefix);
    command.disconnect();
    events.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The world's alerts through the real ingest path as one webhook, all in one incident (the world is
 * one incident). A `level-N` tag becomes the `automation_level` label ingest honours.
 */
async function ingestWorld(redis: RedisConnection, keys: Keyspace, world: World): Promise<string> {
  const level = world.tags.find((tag) => tag.startsWith('level-'))?.slice('level-'.length);
  const alerts: Alert[] = world.alerts.map((alert) => {
    const labels =
      level && !alert.labels.automation_level ? { ...alert.labels, automation_level: level } : alert.labels;
    return {
      ...alert,
      labels,
      fingerprint: alert.fingerprint ?? sha256(JSON.stringify(labels)).slice(0, 16),
    };
  });
  const triage = createQueue<TriageJob>(QUEUE.triage, redis, keys.bullPrefix);
  const notices = createQueue<NotificationJob>(QUEUE.notifications.ingest, redis, keys.bullPrefix);
  try {
    const intake = new Intake({
      redis,
      keys,
      triageQueue: triage,
      notificationQueue: notices,
      classifier: createClassifier(),
      // No alert has this label: every alert of the world shares one correlation key.
      correlate: createCorrelator('eval_world'),
      settings: {
        stormThreshold: 10_000,
        stormWindowSeconds: 60,
        stormTriageBudget: 100,
        dedupTtlSeconds: 3600,
        dedupCacheSize: 0,
        timelineAlertCap: 50,
      },
    });
    const result = await intake.ingest(webhookEnvelope(alerts, 'firing'));
    const id = result.incidents[0];
    if (!id) throw new Error(`world ${world.id}: ingest opened no incident`);
    return id;
  } finally {
    await Promise.all([triage.close(), notices.close()]);
  }
}

async function dropKeys(redis: RedisConnection, prefix: string): Promise<void> {
  const stream = (redis as Redis).scanStream({ match: `{${prefix}}*`, count: 500 });
  for await (const batch of stream) if ((batch as string[]).length) await redis.del(...(batch as string[]));
}
