import { posix } from 'node:path';
import { HermesError } from '../../../errors.js';
import { SAFE_NAME_PATTERN } from '../../../names.js';
import { excerpt } from '../../../remote/excerpt.js';
import { SshError, type SshPool, type SshRunResult } from '../../../remote/ssh.js';
import {
  type Backend,
  type BackendResult,
  type Operation,
  refusedBy,
  type TargetState,
  type WriteContext,
} from '../driver.js';
import type { Placement, ScopedPlacement } from '../placement.js';
import { topologyWords } from '../topology.js';
import { helperOutcome, sshEndpoint } from './helper.js';
import type { SshSettings } from './settings.js';
import { parseStateBefore } from './state-before.js';

/** Paths sent to a target: absolute, normalised, no spaces or metacharacters (the helper splits on spaces). */
const REMOTE_PATH = /^\/[A-Za-z0-9_.@+/-]{0,4095}$/;

/** The write verbs of deploy/remote/hermes-remote. */
const SSH_VERBS: ReadonlySet<Operation['verb']> = new Set(['restart', 'reload', 'clean']);

class RemoteRefusal extends HermesError {}

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

/**
 * An ssh target's write verbs, run through its forced-command helper with the executor's key.
 * One command per call (per path for `clean`); the helper re-checks every word itself.
 */
export function sshWrites(
  settings: SshSettings,
  placement: ScopedPlacement,
  operation: Operation,
  context: WriteContext,
): Backend | string {
  const { cleanRoots } = context.tool;
  if (!SSH_VERBS.has(operation.verb))
    return `${operation.verb} is not available on ssh targets (target ${placement.target})`;
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
      operation: `${what} on ${placement.host}${topologyWords(placement)} via ssh`,
      target: placement.target,
      host: placement.host,
      commands: list,
    };
  };
  const run = runner(context.clients.ssh, settings, placement);
  return {
    precheck: refusedBy(RemoteRefusal, commands),
    async describe(args) {
      return describe(args);
    },
    async run(args): Promise<BackendResult> {
      const described = describe(args);
      const steps: Step[] = [];
      for (const command of described.commands) {
        const failed = await run(command, steps);
        if (failed) return { ...failed, result: { ...described, steps }, ...stateBefore(steps) };
      }
      return { ok: true, result: { ...described, steps }, ...stateBefore(steps) };
    },
  };
}

type Failure = Extract<BackendResult, { ok: false }>;
/** One helper command as it ran. */
type Step = { command: string } & SshRunResult;

/** What the helper's `restart` printed of the unit before restarting it (one unit: the first step). */
function stateBefore(steps: Step[]): { before?: TargetState } {
  const before = parseStateBefore(steps[0]?.stdout ?? '');
  return before ? { before } : {};
}

/** Runs one command, records it in `steps`, and says how it failed (undefined: it succeeded). */
function runner(pool: SshPool, settings: SshSettings, placement: ScopedPlacement) {
  const endpoint = sshEndpoint(settings, placement, 'write');
  const timeoutMs = settings.commandTimeoutSeconds * 1000;
  const host = placement.host;
  return async (command: string, steps: Step[]): Promise<Failure | undefined> => {
    let result: SshRunResult;
    try {
      result = await pool.exec(endpoint, command, timeoutMs);
    } catch (error) {
      if (!(error instanceof SshError)) throw error;
      // Nothing was sent: a host key problem is a refusal, the rest are failures to reach the host.
      return { ok: false, decision: error.kind === 'host_key' ? 'blocked' : 'failed', reason: error.message };
    }
    steps.push({ command, ...result });
    const outcome = helperOutcome(result);
    switch (outcome.kind) {
      case 'ok':
        return undefined;
      case 'timed_out':
        return {
          ok: false,
          decision: 'unknown_outcome',
          reason: `${command} on ${host} timed out after ${timeoutMs} ms; it may have partly run`,
        };
      case 'ended':
        return {
          ok: false,
          decision: 'unknown_outcome',
          reason: `the connection to ${host} ended during ${command}${outcome.signal ? ` (${outcome.signal})` : ''}; it may have run`,
        };
      case 'refused':
        return { ok: false, decision: 'blocked', reason: `${host}: ${outcome.refusal}` };
      case 'failed':
        return {
          ok: false,
          decision: 'failed',
          reason: `${command} on ${host} exited with ${outcome.exitCode}: ${excerpt(outcome.output) || 'no output'}`,
        };
    }
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
