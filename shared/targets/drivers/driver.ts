import { z } from 'zod';
import { HermesError } from '../../errors.js';
import type { LogLevel } from '../../log-levels.js';
import { DockerTargets } from '../../remote/docker.js';
import { KubernetesTargets } from '../../remote/kubernetes.js';
import { SshPool } from '../../remote/ssh.js';
import type { StateBefore } from '../../schemas/incident.js';
import type { PlacedOn, Placement, ScopedPlacement } from './placement.js';
import type { AlertValues } from './template.js';

/**
 * What a tool does on a remote target: the target's own verb (ssh: restart, reload, clean; docker:
 * restart; kubernetes: restart, scale, rollback), applied to the incident's resource, or to `unit`.
 */
export const operationSchema = z.strictObject({
  verb: z.enum(['restart', 'reload', 'clean', 'scale', 'rollback']),
  unit: z.string().min(1).optional(),
});
export type Operation = z.infer<typeof operationSchema>;

/** `before`: the target's state that the restart itself reported before restarting (the ssh helper). */
export type BackendResult =
  | { ok: true; result: unknown; before?: TargetState }
  /** `blocked`: refused before anything ran (a target's own refusal, an unpinned host key). */
  | {
      ok: false;
      decision: 'blocked' | 'failed' | 'unknown_outcome';
      reason: string;
      result?: unknown;
      before?: TargetState;
    };

/** How a tool changes the world on one place (a driver's write verbs, or a policy's local backend). */
export interface Backend {
  /** Refusals that depend on the world (paths, templates), checked before approvals and limits. */
  precheck(args: Record<string, unknown>): Promise<string | null>;
  /** What would run, recorded in dry-run mode. */
  describe(args: Record<string, unknown>): Promise<unknown>;
  run(args: Record<string, unknown>): Promise<BackendResult>;
  /** Where the target checks a change without making it (a server-side dry run): dry-run mode asks it. */
  dryRun?(args: Record<string, unknown>): Promise<BackendResult>;
  /**
   * For scaling: the replica count running now, read from the target (a scale then starts from it,
   * never from the policy's fixed baseline), or why it cannot be scaled.
   */
  liveReplicas?(): Promise<LiveReplicas>;
  /**
   * Where the tool restarts something: the target's state right before (restart count, last exit,
   * OOM kill, last ERROR lines), read because the restart resets it.
   */
  stateBefore?(): Promise<TargetState>;
  /**
   * What is really acted on when it is not the `service` argument itself (a pod's workload, a
   * container's full id), for per-service limits: `key` counts, `name` is what refusals say.
   */
  actsOn?(): Promise<{ key: string; name: string }>;
}

/** A precheck that refuses with the message of a `Refusal` thrown by `check` (other errors propagate). */
export function refusedBy(
  Refusal: abstract new (...args: never[]) => Error,
  check: (args: Record<string, unknown>) => unknown,
): Backend['precheck'] {
  return async (args) => {
    try {
      check(args);
      return null;
    } catch (error) {
      if (error instanceof Refusal) return error.message;
      throw error;
    }
  };
}

/** A target's state as its driver reads it; the executor stamps and bounds it (StateBefore). */
export type TargetState = Omit<StateBefore, 'at' | 'unreadable'>;

export type LiveReplicas =
  | { ok: true; replicas: number; workload: string; resourceVersion: string }
  | { ok: false; reason: string };

/** A read that could not be made, as one line for the model. */
export class TargetReadError extends HermesError {}

/** The clients of one process (ssh connections, Docker engines, clusters), shared by every driver call. */
export class TargetClients {
  readonly ssh: SshPool;
  readonly docker = new DockerTargets();
  readonly kubernetes: KubernetesTargets;

  constructor(options: { ssh?: SshPool; maxTimeoutMs?: number } = {}) {
    this.ssh = options.ssh ?? new SshPool();
    this.kubernetes = new KubernetesTargets(
      options.maxTimeoutMs === undefined ? {} : { maxTimeoutMs: options.maxTimeoutMs },
    );
  }

  close(): void {
    this.ssh.close();
    this.docker.close();
  }
}

/** What triage needs for its reads. */
export interface ReadContext {
  clients: TargetClients;
  /** Triage's deadline for one read. */
  timeoutMs: number;
  hasPrometheus: boolean;
  /** The executor's own machine (local targets): triage's log files and allowlisted commands. */
  local: {
    logs(unit: string, lines: number, level: LogLevel): Promise<string[]>;
    diag(command: string): Promise<Record<string, unknown>>;
  };
}

export interface TargetReads {
  logs(placement: ScopedPlacement, unit: string, lines: number, level: LogLevel): Promise<string[]>;
  /** What the target reports of its load; absent where Prometheus is the one to ask. */
  resources?(placement: ScopedPlacement): Promise<Record<string, unknown>>;
  diag(placement: ScopedPlacement, command: string): Promise<Record<string, unknown>>;
}

/** The executor's side: which tool, and what it may use. */
export interface WriteContext {
  clients: TargetClients;
  tool: { name: string; operation?: Operation | undefined; cleanRoots: readonly string[] };
  /** The policy's backend for the tool on the executor's own machine (local targets). */
  local: Backend | undefined;
}

/** A remote kind's write verbs, given the tool's operation there; a tool without one acts only on local targets. */
export function remoteWrites<Config>(
  kind: string,
  writes: (
    config: Config,
    placement: ScopedPlacement,
    operation: Operation,
    context: WriteContext,
  ) => Backend | string,
): TargetDriver<Config>['writes'] {
  return (config, placement, context) =>
    context.tool.operation
      ? writes(config, placement, context.tool.operation, context)
      : `${context.tool.name} has no operation for ${kind} targets (target ${placement.target}); it only acts on local targets`;
}

/**
 * Everything Hermes knows about one kind of target: how an alert is placed on it, how that place is
 * described, and its read (triage) and write (executor) verbs. `Config` is the kind's entry in
 * TARGETS_FILE.
 */
export interface TargetDriver<Config> {
  /** The place an alert names on this target (host and resource); throws a one-line reason. */
  place(config: Config, alert: AlertValues): PlacedOn;
  /** "api-gateway on api-server-03 via ssh", "container web-1 on docker-host via docker". */
  describe(placement: Placement, resource: string | null): string;
  /** The same in a list's few words: "api-gateway on api-server-03 (ssh)". */
  describeShort(placement: Placement): string;
  /** Names a request may give for the place's host besides the host and the alert's instance. */
  aliases?(placement: Placement): string[];
  reads(config: Config, context: ReadContext): TargetReads;
  /** The backend for a tool at a place, or why the tool cannot act there. */
  writes(config: Config, placement: ScopedPlacement, context: WriteContext): Backend | string;
}
