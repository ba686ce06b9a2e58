import { posix } from 'node:path';
import { HermesError } from '../../shared/errors.js';
import { SAFE_NAME_PATTERN } from '../../shared/names.js';
import type { DockerTarget } from '../../shared/remote/docker.js';
import { excerpt, helperRefusal, sshEndpoint } from '../../shared/remote/endpoint.js';
import { SshError, type SshPool } from '../../shared/remote/ssh.js';
import type { SshSettings } from '../../shared/targets/schema.js';
import { describePlacement, type Placement } from '../../shared/targets/targets.js';
import type { Backend, BackendResult } from './backends.js';
import type { ToolPolicy } from './policy.js';

type Operation = NonNullable<ToolPolicy['operation']>;

/** Paths sent to a target: absolute, normalised, no spaces or metacharacters (the helper splits on spaces). */
const REMOTE_PATH = /^\/[A-Za-z0-9_.@+/-]{0,4095}$/;

/** The unit an operation acts on: its template filled from name arguments, else the incident's resource. */
export function operationUnit(
  operation: Operation,
  placement: Placement,
  args: Record<string, unknown>,
): string {
  const unit = operation.unit
    ? operation.unit.replace(/\{([^}]*)\}/g, (_, name: string) => String(args[name] ?? ''))
    : (placement.resource ?? '');
  if (!SAFE_NAME_PATTERN.test(unit))
    throw new RemoteRefusal(`${JSON.stringify(unit)} is not a valid unit name`);
  return unit;
}

class RemoteRefusal extends HermesError {}

/** The write verbs of deploy/remote/hermes-remote. */
const SSH_VERBS: ReadonlySet<Operation['verb']> = new Set(['restart', 'reload', 'clean']);

/**
 * An ssh target's write verbs, run through its forced-command helper with the executor's key.
 * One command per call (per path for `clean`); the helper re-checks every word itself.
 */
export function sshBackend(
  pool: SshPool,
  settings: SshSettings,
  placement: Placement,
  operation: Operation,
  cleanRoots: readonly string[],
): Backend | string {
  if (!SSH_VERBS.has(operation.verb))
    return `${operation.verb} is not available on ssh targets (target ${placement.target})`;
  const endpoint = sshEndpoint(settings, placement, 'write');
  const timeoutMs = settings.commandTimeoutSeconds * 1000;
  const commands = (args: Record<string, unknown>): string[] => {
    if (operation.verb !== 'clean') return [`${operation.verb} ${operationUnit(operation, placement, args)}`];
    const days = Number(args.min_age_days);
    return (args.paths as string[]).map((path) => `clean ${remotePath(path, cleanRoots)} ${days}`);
  };
  const describe = (args: Record<string, unknown>) => {
    const list = commands(args);
    const what =
      operation.verb === 'clean'
        ? `clean files older than ${args.min_age_days} days under ${(args.paths as string[]).join(', ')}`
        : `${operation.verb} ${operationUnit(operation, placement, args)}`;
    return {
      operation: `${what} on ${placement.host} via ssh`,
      target: placement.target,
      host: placement.host,
      commands: list,
    };
  };
  return {
    async precheck(args) {
      try {
        commands(args);
        return null;
      } catch (error) {
        if (error instanceof RemoteRefusal) return error.message;
        throw error;
      }
    },
    async describe(args) {
      return describe(args);
    },
    async run(args): Promise<BackendResult> {
      const described = describe(args);
      const steps: unknown[] = [];
      for (const command of described.commands) {
        let outcome: Awaited<ReturnType<SshPool['exec']>>;
        try {
          outcome = await pool.exec(endpoint, command, timeoutMs);
        } catch (error) {
          if (!(error instanceof SshError)) throw error;
          const result = { ...described, steps };
          // Nothing was sent: a host key problem is a refusal, the rest are failures to reach the host.
          return error.kind === 'host_key'
            ? { ok: false, decision: 'blocked', reason: error.message, result }
            : { ok: false, decision: 'failed', reason: error.message, result };
        }
        steps.push({ command, ...outcome });
        const result = { ...described, steps };
        if (outcome.timedOut)
          return {
            ok: false,
            decision: 'unknown_outcome',
            reason: `${command} on ${placement.host} timed out after ${timeoutMs} ms; it may have partly run`,
            result,
          };
        if (outcome.exitCode === null)
          return {
            ok: false,
            decision: 'unknown_outcome',
            reason: `the connection to ${placement.host} ended during ${command}${outcome.signal ? ` (${outcome.signal})` : ''}; it may have run`,
            result,
          };
        const refusal = helperRefusal(outcome.stderr);
        if (outcome.exitCode === 2 && refusal)
          return { ok: false, decision: 'blocked', reason: `${placement.host}: ${refusal}`, result };
        if (outcome.exitCode !== 0)
          return {
            ok: false,
            decision: 'failed',
            reason: `${command} on ${placement.host} exited with ${outcome.exitCode}: ${excerpt(outcome.stderr || outcome.stdout) || 'no output'}`,
            result,
          };
      }
      return { ok: true, result: { ...described, steps } };
    },
  };
}

/**
 * A docker target: only `restart` of the container the incident names, by the full id its engine
 * resolved (see ActionPlacer); decisions name it by its name.
 */
export function dockerBackend(
  docker: DockerTarget,
  placement: Placement,
  operation: Operation,
): Backend | string {
  if (operation.verb !== 'restart')
    return `${operation.verb} is not available on docker targets (target ${placement.target})`;
  const { resource: name, containerId: id } = placement;
  const describe = () => ({
    operation: `restart ${describePlacement(placement)}`,
    target: placement.target,
    container: name,
    containerId: id,
  });
  return {
    async precheck() {
      if (!name) return `the alerts name no container for target ${placement.target}`;
      return id ? null : `container ${name} was not resolved on target ${placement.target}`;
    },
    async describe() {
      return describe();
    },
    async run() {
      try {
        const { restartedAt, state } = await docker.restart(id as string);
        return { ok: true, result: { ...describe(), restartedAt, state } };
      } catch (error) {
        return { ok: false, decision: 'failed', reason: (error as Error).message, result: describe() };
      }
    },
    async actsOn() {
      return { key: id as string, name: name as string };
    },
  };
}

function remotePath(path: string, roots: readonly string[]): string {
  const normal = posix.normalize(path).replace(/(.)\/+$/, '$1');
  if (!REMOTE_PATH.test(path) || normal !== path.replace(/(.)\/+$/, '$1'))
    throw new RemoteRefusal(`path ${JSON.stringify(path)} must be absolute and normalised, without spaces`);
  if (!roots.some((root) => normal === root || normal.startsWith(`${root.replace(/\/$/, '')}/`)))
    throw new RemoteRefusal(`Path ${normal} is outside the allowed roots (${roots.join(', ')})`);
  return normal;
}
