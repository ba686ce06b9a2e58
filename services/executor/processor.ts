import type { Queue } from 'bullmq';
import type { AutomationControl } from '../../shared/control.js';
import { untilStored } from '../../shared/durably.js';
import type { IncidentStore } from '../../shared/incidents.js';
import type { Logger } from '../../shared/logger.js';
import {
  type BreakerOpening,
  breakerEventId,
  breakerOpenNotice,
  lateActionNotice,
} from '../../shared/notices.js';
import type { NotificationOutbox } from '../../shared/outbox.js';
import { triageFollowUpJobId } from '../../shared/queues.js';
import type { IncidentSummary, Level } from '../../shared/schemas/incident.js';
import {
  type ActionJob,
  type ActionOutcome,
  actionJobSchema,
  type ExecutionMode,
  type TriageJob,
} from '../../shared/schemas/jobs.js';
import type { IncidentScope } from '../../shared/targets/scope.js';
import { describePlacement, type Placement } from '../../shared/targets/targets.js';
import type { ApprovalFlow } from './approval-flow.js';
import { formatIssues } from './args.js';
import type { Backend } from './backends.js';
import type { CircuitBreaker } from './breaker.js';
import type { ActionClaims, Claim } from './claims.js';
import type { HeldChanges } from './held-changes.js';
import type { IncidentGate, RoundChange } from './incident-gate.js';
import type { Judgement } from './judgement.js';
import type { ActionPlacer } from './placement.js';
import type { Policy, ToolPolicy } from './policy.js';
import type { RateLimiter, RollingLimit } from './rate-limit.js';
import type { DecisionRecorder } from './recorder.js';
import { policyStart, type ReplicaCounts, scaleTarget } from './scale.js';
import { runWithStateBefore } from './state-before.js';
import type { BackendChooser } from './target-backends.js';

export interface ProcessorDeps {
  policy: Policy;
  /** Where an action may act: the incident's own targets, never the requester's words. */
  placer: ActionPlacer;
  backends: BackendChooser;
  mode: ExecutionMode;
  incidents: IncidentStore;
  control: AutomationControl;
  claims: ActionClaims;
  /** The incident's status, owner and round: read early, and again atomically right before a run. */
  gate: IncidentGate;
  limiter: RateLimiter;
  breaker: CircuitBreaker;
  /** Change budgets per resource: a slot taken before a change runs, freed by its verdict. */
  budgets: HeldChanges;
  replicas: ReplicaCounts;
  approvalFlow: ApprovalFlow;
  /** Recurrence and learned rules, and the outcomes they learn from. */
  judgement: Judgement;
  recorder: DecisionRecorder;
  logger: Logger;
  /** Carries the breaker-open page. */
  outbox: NotificationOutbox;
  triage: Queue<TriageJob>;
}

type Decision = Omit<ActionOutcome, 'actionId' | 'durationMs'>;

/** What a decision reads before anything else (see ActionProcessor.firstReads). */
interface FirstReads {
  level: Level | null;
  /** Read for state-changing tools only. */
  incident: IncidentSummary | null;
  stopped: string | null;
  paused: Awaited<ReturnType<AutomationControl['isPaused']>>;
  /** Read for state-changing tools only. */
  scope: IncidentScope | null;
}

/** An action the executor has validated, placed and put into words. */
interface Placed {
  tool: NonNullable<ReturnType<Policy['tool']>>;
  level: Level;
  args: Record<string, unknown>;
  runArgs: Record<string, unknown>;
  backend: Backend;
  placement: Placement;
  operation: string;
}

const HOUR_MS = 3_600_000;
const READ_ONLY_NOTE = { note: 'read-only tools run in triage; nothing was run by the executor' };

/**
 * Decides and (maybe) runs one action job. Every answer is an ActionOutcome; only infrastructure
 * failures (Redis down) throw. The requester's words are never trusted: tier from the policy, level
 * from the incident record, limits and breaker from Redis.
 */
export class ActionProcessor {
  constructor(private readonly deps: ProcessorDeps) {}

  /** `queue`: which queue the job came on, which says who wrote it (the ACL lets only triage write `agent`). */
  async handle(raw: unknown, queue: 'agent' | 'human'): Promise<ActionOutcome> {
    const started = Date.now();
    const parsed = actionJobSchema.safeParse(raw);
    const refusal = parsed.success
      ? wrongQueue(parsed.data, queue)
      : `invalid action job: ${formatIssues(parsed.error)}`;
    if (refusal) {
      const id = (raw as { actionId?: unknown } | null)?.actionId;
      const outcome: ActionOutcome = {
        actionId: typeof id === 'string' ? id.slice(0, 100) : 'invalid',
        decision: 'blocked',
        reason: refusal,
        durationMs: Date.now() - started,
      };
      await this.deps.recorder.rejected(raw, outcome);
      return outcome;
    }
    const job = parsed.data as ActionJob;
    // What the decision reads first rides with the claim, in one round trip; a scale reads once it
    // holds its service's lock.
    const [earlier, first] = await Promise.all([
      this.deps.claims.claim(job.actionId),
      this.deps.policy.tool(job.tool)?.scale ? undefined : this.firstReads(job),
    ]);
    if (earlier) return this.repeated(job, earlier, started);

    const decision = await this.decideInTurn(job, first);
    const outcome: ActionOutcome = { actionId: job.actionId, ...decision, durationMs: Date.now() - started };
    const late = ranAfterDeadline(job, outcome);
    // Finished before recorded: a concurrent duplicate that recorded `unknown_outcome` re-reads the
    // claim afterwards, so whichever order they interleave in, the executed record is written last.
    await untilStored(
      () => this.deps.claims.finish(job.actionId, outcome),
      `the claim of ${job.actionId}`,
      this.deps.logger,
    );
    await this.deps.recorder.record(job, outcome);
    await this.deps.budgets.settle(job, outcome);
    if (late)
      await untilStored(
        () => this.deps.outbox.deliver(lateActionNotice(job, outcome)),
        `the late notice of ${job.actionId}`,
        this.deps.logger,
      );
    // An answered question changed nothing: the human who approved it owns the incident (see
    // ApprovalDecisions), so there is no fix to verify.
    if (
      job.approvalId &&
      job.tool !== 'request_human_confirmation' &&
      (outcome.decision === 'executed' || outcome.decision === 'dry_run')
    ) {
      await this.deps.triage.add(
        'triage',
        { incidentId: job.incidentId, trigger: 'approval_executed', actionId: job.actionId },
        { jobId: triageFollowUpJobId(job.incidentId, job.actionId) },
      );
    }
    return outcome;
  }

  /** The action id was seen before: answer from the record, never run it again. */
  private async repeated(job: ActionJob, claim: Claim, started: number): Promise<ActionOutcome> {
    if (claim.state === 'done') return claim.outcome;
    const outcome: ActionOutcome = {
      actionId: job.actionId,
      decision: 'unknown_outcome',
      reason: `an earlier attempt of ${job.actionId} started at ${claim.at} and did not report back; not run again`,
      durationMs: Date.now() - started,
    };
    await this.deps.recorder.record(job, outcome);
    // If that attempt was still alive and has finished meanwhile, its record is the truth.
    const now = await this.deps.claims.get(job.actionId);
    if (now?.state === 'done') await this.deps.recorder.record(job, now.outcome);
    return outcome;
  }

  /** Scale actions of one service are decided and run one at a time: each applies its delta to the last. */
  private async decideInTurn(job: ActionJob, first: FirstReads | undefined): Promise<Decision> {
    if (!this.deps.policy.tool(job.tool)?.scale) return this.decide(job, first);
    const service = String(job.args.service).slice(0, 200);
    const decision = await this.deps.replicas.exclusive(service, job.actionId, () => this.decide(job, first));
    return decision ?? blocked(`another scale_service of ${service} held its lock for too long`);
  }

  /**
   * Independent reads, asked at once: the incident's level and (for a change) its summary and scope,
   * the human stop and the kill switch. The summary is read once per decision and passed down.
   */
  private async firstReads(job: ActionJob): Promise<FirstReads> {
    const { incidents } = this.deps;
    const tier = this.deps.policy.tool(job.tool)?.tier;
    const changes = tier === 'safe' || tier === 'confirm';
    const [level, incident, stopped, paused, scope] = await Promise.all([
      incidents.getLevel(job.incidentId),
      changes ? incidents.getSummary(job.incidentId) : null,
      this.deps.gate.check(job),
      this.deps.control.isPaused(),
      changes ? this.deps.placer.scope(job.incidentId) : null,
    ]);
    return { level, incident, stopped, paused, scope };
  }

  private async decide(job: ActionJob, early: FirstReads | undefined): Promise<Decision> {
    const { policy } = this.deps;
    const tool = policy.tool(job.tool);
    if (!tool) return blocked(`Unknown tool ${job.tool} requires explicit allowlist`);
    if (tool.tier === 'forbidden') return blocked(`${job.tool} is absolutely forbidden`);
    const parsedArgs = tool.argsSchema.safeParse(job.args);
    if (!parsedArgs.success)
      return blocked(`invalid arguments for ${job.tool}: ${formatIssues(parsedArgs.error)}`);
    const args = parsedArgs.data;
    const first = early ?? (await this.firstReads(job));
    const { level, stopped, paused } = first;
    if (level === null) return blocked(`unknown incident ${job.incidentId}`);
    if (stopped) return blocked(stopped);

    if (tool.tier === 'read') {
      if (job.approvalId) {
        const spent = await this.deps.approvalFlow.spend(job, job.approvalId, args);
        if (!spent.ok) return { decision: spent.decision, reason: spent.reason };
        return {
          decision: 'executed',
          reason: `answered by ${job.requestedBy.replace(/^human:/, '')}, who owns the incident now`,
          result: READ_ONLY_NOTE,
        };
      }
      if (job.tool === 'request_human_confirmation') {
        const approvalId = await this.deps.approvalFlow.request(job, args, tool.tier, level);
        return { decision: 'pending_approval', reason: 'waiting for a human answer', approvalId };
      }
      return { decision: 'executed', result: READ_ONLY_NOTE };
    }

    if (level === 3)
      return blocked(`incident ${job.incidentId} is level 3 (escalate): no state-changing tool may run`);
    const stale = staleness(job);
    if (stale) return blocked(stale);
    if (paused.paused)
      return blocked(
        `automation is paused (kill switch) by ${paused.by ?? 'unknown'} since ${paused.at ?? '?'}`,
      );

    const scope = first.scope ?? (await this.deps.placer.scope(job.incidentId));
    const located = await this.deps.placer.place(scope, tool, args);
    if (!located.ok) return blocked(located.reason);
    const { placement } = located;
    const backend = this.deps.backends.for(tool.name, placement);
    if (typeof backend === 'string') return blocked(backend);
    let runArgs = args;
    if (tool.scale) {
      const scaled = await this.scaleArgs(job.incidentId, tool.scale, args, backend);
      if (!scaled.ok) return blocked(scaled.reason);
      runArgs = scaled.args;
    }
    const refused = await backend.precheck(runArgs);
    if (refused) return blocked(`${refused} (${describePlacement(placement)})`);
    const operation = operationText(await backend.describe(runArgs), placement);
    // Every decision from here on names the exact operation, for the console, the CLI and messages.
    const planned = { tool, level, args, runArgs, backend, placement, operation };
    const decision = await this.decidePlaced(job, planned, first.incident);
    // The fix may have run: its outcome is bookkeeping that must survive a Redis blip.
    await untilStored(
      () => this.deps.judgement.decided(job, placement, first.incident, decision.decision),
      `the outcome of ${job.actionId}`,
      this.deps.logger,
    );
    return { ...decision, operation };
  }

  /** The decision once the action is placed and its operation known: approval, limits, then run. */
  private async decidePlaced(
    job: ActionJob,
    planned: Placed,
    incident: IncidentSummary | null,
  ): Promise<Decision> {
    const { policy } = this.deps;
    const { tool, level, args, runArgs, backend, placement, operation } = planned;
    // The fleet hold (a script), judgement's reads and the breaker's state, asked at once; the hold
    // comes first: while a fleet incident holds the resource, no per-target approval is asked for
    // either. Only a breaker not closed needs its script below.
    const [fleetHeld, judged, closed] = await Promise.all([
      this.deps.budgets.holdForFleet(job, placement),
      this.deps.judgement.check(job, placement, incident),
      this.deps.breaker.closed(),
    ]);
    if (fleetHeld) return fleetHeld;
    if (judged && 'refuse' in judged) return blocked(judged.refuse);
    if (judged && 'ask' in judged) {
      const approvalId = await this.deps.approvalFlow.request(job, args, tool.tier, level, operation);
      return { decision: 'pending_approval', reason: `${judged.ask}: ${operation}`, approvalId };
    }
    // A preapproval waives only the level-2 approval: confirm tools and the agent's own asking still ask.
    const waived =
      judged && tool.tier === 'safe' && level === 2 && !job.askHuman && !job.approvalId
        ? judged.preapproved
        : null;
    if (job.approvalId) {
      const spent = await this.deps.approvalFlow.spend(job, job.approvalId, args);
      if (!spent.ok) return { decision: spent.decision, reason: spent.reason };
    } else if (tool.tier === 'confirm' || (level === 2 && !waived) || job.askHuman) {
      const approvalId = await this.deps.approvalFlow.request(job, args, tool.tier, level, operation);
      const why =
        tool.tier === 'confirm'
          ? `${job.tool} always needs`
          : level === 2
            ? 'level-2 incidents need'
            : 'the agent asked for';
      return { decision: 'pending_approval', reason: `${why} a human approval to ${operation}`, approvalId };
    }

    const breaker = closed ? null : await this.deps.breaker.check(job.actionId);
    if (breaker && !breaker.allowed) return blocked(breaker.reason);
    const held = await this.deps.budgets.admit(job, placement, incident?.priority);
    if (held) return held;
    const limits: RollingLimit[] = [
      { name: 'global', max: policy.limits.stateChangesPerHour, windowMs: HOUR_MS },
    ];
    const rate = tool.rateLimit;
    // Limits count per place: restarting api-gateway on two hosts is two services' budgets. A target
    // may act on something other than the argument names (a pod stands for its workload, a container
    // for its full id): that counts, and refusals name it.
    const subject = !rate?.per
      ? { key: '', name: '' }
      : rate.per === 'service' && backend.actsOn
        ? await backend.actsOn()
        : { key: String(args[rate.per]), name: String(args[rate.per]) };
    const place = rate?.per && placement.kind !== 'local' ? `@${placement.target}/${placement.host}` : '';
    const scopeValue = `${subject.name}${place}`;
    if (rate)
      limits.push({
        name: `${tool.name}:${subject.key}${place}`,
        max: rate.max,
        windowMs: rate.windowSeconds * 1000,
      });
    // With room in the limits, a human's word that landed since this decision began is read again,
    // atomically and last, in the same script.
    const gate = this.deps.gate.entry(job, job.approvalId ? roundChange(tool.name, placement) : null);
    const taken = await this.deps.limiter.take(job.actionId, limits, Date.now(), gate);
    if (!taken.ok) {
      if (taken.limit.name === 'global')
        return blocked(
          `global cap reached: ${taken.count} state-changing actions in the last hour (limit: ${taken.limit.max})`,
        );
      const message =
        rate?.message ??
        `${job.tool} ran {count} times for ${rate?.per ?? 'this tool'} {value} in its window (limit: {max})`;
      return blocked(
        message
          .replaceAll('{value}', scopeValue)
          .replaceAll('{count}', String(taken.count))
          .replaceAll('{max}', String(taken.limit.max)),
      );
    }

    const entered = gate.refusal(taken.entered);
    if (entered) return blocked(entered);
    const done =
      this.deps.mode === 'dry-run'
        ? await this.dryRun(backend, runArgs, operation)
        : await this.run(job, tool.name, backend, runArgs, operation);
    return waived ? { ...done, reason: `${waived}, no approval asked; ${done.reason ?? ''}` } : done;
  }

  /**
   * The arguments a scale runs with: the target count, and where it starts. A target that reports its
   * live count (Kubernetes) starts from that, bounded by what ran when the incident first looked;
   * others start from the count last set, bounded by the policy's baseline.
   */
  private async scaleArgs(
    incidentId: string,
    policy: NonNullable<ToolPolicy['scale']>,
    args: Record<string, unknown>,
    backend: Backend,
  ): Promise<{ ok: true; args: Record<string, unknown> } | { ok: false; reason: string }> {
    const service = String(args.service);
    if (!backend.liveReplicas) {
      const target = scaleTarget(
        policy,
        args,
        policyStart(policy, service, await this.deps.replicas.get(service)),
      );
      return target.ok ? { ok: true, args: { ...args, replicas: target.replicas } } : target;
    }
    const live = await backend.liveReplicas();
    if (!live.ok) return live;
    const baseline = await this.deps.replicas.firstSeen(incidentId, live.workload, live.replicas);
    const target = scaleTarget(policy, args, {
      current: live.replicas,
      baseline,
      baselineText: `the ${baseline} it ran when this incident first asked to scale it`,
      what: live.workload,
    });
    if (!target.ok) return target;
    return {
      ok: true,
      args: {
        ...args,
        replicas: target.replicas,
        from: live.replicas,
        resourceVersion: live.resourceVersion,
      },
    };
  }

  /** Dry-run mode: what would run; a target with a server-side dry run is asked, and its answer kept. */
  private async dryRun(
    backend: Backend,
    args: Record<string, unknown>,
    operation: string,
  ): Promise<Decision> {
    if (!backend.dryRun)
      return {
        decision: 'dry_run',
        reason: `EXECUTION_MODE=dry-run: would ${operation}; nothing was run`,
        result: { operation, wouldRun: await backend.describe(args) },
      };
    const answer = await backend.dryRun(args);
    if (!answer.ok) return { decision: answer.decision, reason: answer.reason, result: answer.result };
    return {
      decision: 'dry_run',
      reason: `EXECUTION_MODE=dry-run: would ${operation} (the server-side dry run accepted it); nothing was run`,
      result: { operation, wouldRun: answer.result },
    };
  }

  private async run(
    job: ActionJob,
    toolName: string,
    backend: Backend,
    args: Record<string, unknown>,
    operation: string,
  ): Promise<Decision> {
    // The checks above take time (locks, Redis): the requester may have given up meanwhile.
    const stale = staleness(job);
    if (stale) return blocked(stale);
    const { result, before } = await runWithStateBefore(backend, args, this.deps.logger);
    const evidence = before ? { before } : {};
    // From here on something happened on the target: its bookkeeping must survive a Redis blip.
    const durably = (what: string, write: () => Promise<unknown>) =>
      untilStored(write, `${what} after ${job.actionId}`, this.deps.logger);
    if (result.ok) {
      await durably('the breaker', () => this.deps.breaker.recordSuccess());
      if (this.deps.policy.tool(toolName)?.scale && !backend.liveReplicas)
        await durably('the replica count', () =>
          this.deps.replicas.set(String(args.service), args.replicas as number),
        );
      return { decision: 'executed', reason: `ran: ${operation}`, result: result.result, ...evidence };
    }
    // A refusal ran nothing on the target: it is reported, not counted as a failed fix.
    if (result.decision !== 'blocked')
      await durably('the failure count', () => this.countFailure(job.incidentId, `failed:${job.actionId}`));
    return { decision: result.decision, reason: result.reason, result: result.result, ...evidence };
  }

  /**
   * A failed or ineffective action; pages once when it is the one that opens the breaker (the page
   * is recorded with the opening, so dying right after cannot lose it).
   */
  async countFailure(incidentId: string, member: string): Promise<void> {
    const now = Date.now();
    const announce = (opening: BreakerOpening) => breakerOpenNotice(incidentId, member, now, opening);
    const { opened } = await this.deps.breaker.recordFailure(member, now, announce);
    if (opened) await this.deps.outbox.deliverRecorded(breakerEventId(now));
  }
}

/** Why an action is too late to run: its requester stopped waiting for the decision. */
function staleness(job: ActionJob): string | null {
  if (!job.deadline || Date.now() <= Date.parse(job.deadline)) return null;
  return `stale: ${job.requestedBy} stopped waiting at ${job.deadline}; not run`;
}

/**
 * The agent's queue carries only the agent's own requests, and the humans' queue only approved ones:
 * a job that claims otherwise was forged by whoever could write that queue.
 */
function wrongQueue(job: ActionJob, queue: 'agent' | 'human'): string | null {
  if (queue === 'agent' && (job.requestedBy !== 'agent' || job.approvalId))
    return `the agent's queue carries only the agent's own requests, not ${job.approvalId ? 'approved actions' : job.requestedBy}`;
  if (queue === 'human' && job.requestedBy === 'agent')
    return "the agent's requests come on the agent-actions queue, not the humans' one";
  return null;
}

/** An action that ran (or tried to) while its requester had already given up on it. */
function ranAfterDeadline(job: ActionJob, outcome: ActionOutcome): boolean {
  if (!job.deadline || Date.now() <= Date.parse(job.deadline)) return false;
  return (
    outcome.decision === 'executed' || outcome.decision === 'failed' || outcome.decision === 'unknown_outcome'
  );
}

/** One line for humans: "restart api-gateway on api-server-03 via ssh". */
function operationText(described: unknown, placement: Placement): string {
  const value = described as { operation?: unknown; argv?: unknown; clean?: unknown } | null;
  if (typeof value?.operation === 'string') return value.operation;
  if (Array.isArray(value?.argv))
    return `run \`${value.argv.join(' ')}\` on the executor's own machine (local target ${placement.target})`;
  if (Array.isArray(value?.clean))
    return `clean old files under ${value.clean.join(', ') || '(nothing)'} on the executor's own machine (local target ${placement.target})`;
  return describePlacement(placement);
}

/** The approved change as its round remembers it: the tool and the place it acts on. */
function roundChange(tool: string, placement: Placement): RoundChange {
  const what = placement.resource ?? placement.host;
  return {
    key: JSON.stringify([tool, placement.target, placement.host, placement.resource]),
    words: `${tool} of ${what}`,
  };
}

function blocked(reason: string): Decision {
  return { decision: 'blocked', reason };
}
