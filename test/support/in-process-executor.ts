import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ApprovalFlow } from '../../services/executor/approval-flow.js';
import { AuditLog } from '../../services/executor/audit.js';
import { type Backend, createBackend } from '../../services/executor/backends.js';
import { CircuitBreaker } from '../../services/executor/breaker.js';
import { ChangeBudgets } from '../../services/executor/budgets.js';
import { ActionClaims } from '../../services/executor/claims.js';
import { HeldChanges } from '../../services/executor/held-changes.js';
import { IncidentGate } from '../../services/executor/incident-gate.js';
import { Judgement } from '../../services/executor/judgement.js';
import { ActionPlacer } from '../../services/executor/placement.js';
import { loadPolicy } from '../../services/executor/policy.js';
import { ActionProcessor } from '../../services/executor/processor.js';
import { RateLimiter } from '../../services/executor/rate-limit.js';
import { DecisionRecorder } from '../../services/executor/recorder.js';
import { ReplicaCounts } from '../../services/executor/scale.js';
import { TargetBackends } from '../../services/executor/target-backends.js';
import { ApprovalStore } from '../../shared/approvals.js';
import { AutomationControl } from '../../shared/control.js';
import { IncidentStore } from '../../shared/incidents.js';
import type { Keyspace } from '../../shared/keys.js';
import { LearnedRules } from '../../shared/learned-rules.js';
import { createLogger } from '../../shared/logger.js';
import { createMetrics } from '../../shared/metrics.js';
import { NotificationOutbox } from '../../shared/outbox.js';
import { OutcomeStore } from '../../shared/outcomes.js';
import { SshPool } from '../../shared/remote/ssh.js';
import type { ExecutionMode } from '../../shared/schemas/jobs.js';
import { loadTargets } from '../../shared/targets/targets.js';
import { LOCAL_TARGETS } from './targets.js';

/**
 * The parts startExecutor wires, in this process and on one given connection, so each decision can
 * be timed alone and its round trips counted. Every alert goes to the local target. Change budgets
 * must be roomy: nothing is held, so no `held_release` job is ever queued.
 */
export function inProcessExecutor(options: {
  redis: Redis;
  keys: Keyspace;
  policyFile: string;
  mode: ExecutionMode;
  notifications: Queue;
  triage: Queue;
}): ActionProcessor {
  const { redis, keys, mode, triage } = options;
  const policy = loadPolicy(options.policyFile);
  const local = new Map<string, Backend>();
  for (const [name, tool] of Object.entries(policy.tools))
    if (tool.backend) local.set(name, createBackend(tool.backend, policy));
  const targets = loadTargets(LOCAL_TARGETS);
  const incidents = new IncidentStore(redis, keys);
  const logger = createLogger('executor-in-process', 'silent');
  const audit = new AuditLog(redis, keys);
  const outbox = new NotificationOutbox(redis, keys, 'executor', options.notifications);
  const backends = new TargetBackends(policy, targets, local, new SshPool());
  const claims = new ActionClaims(redis, keys);
  const recorder = new DecisionRecorder({
    incidents,
    audit,
    metrics: createMetrics('executor-in-process'),
    logger,
    mode,
    knownTool: (tool) => Boolean(policy.tool(tool)),
  });
  return new ActionProcessor({
    policy,
    logger,
    placer: new ActionPlacer(targets, incidents, backends),
    backends,
    mode,
    incidents,
    control: new AutomationControl(redis, keys),
    claims,
    gate: new IncidentGate(redis, keys, keys),
    limiter: new RateLimiter(redis, keys),
    breaker: new CircuitBreaker(redis, keys, policy.breaker),
    budgets: new HeldChanges({
      budgets: new ChangeBudgets(redis, keys, policy.budgets),
      claims,
      actions: triage,
      triage,
      recorder,
      logger,
    }),
    replicas: new ReplicaCounts(redis, keys),
    approvalFlow: new ApprovalFlow(new ApprovalStore(redis, keys), incidents, outbox, 1_800),
    judgement: new Judgement({
      outcomes: new OutcomeStore(redis, keys),
      learned: new LearnedRules(redis, keys),
      audit,
      policy,
    }),
    recorder,
    outbox,
    triage,
  });
}
