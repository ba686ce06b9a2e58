import type { SshEndpoint, SshRunResult } from '../../../remote/ssh.js';
import type { Placement } from '../placement.js';
import type { SshSettings } from './settings.js';

/** Triage connects with the read key, the executor with the write key; the target's helper tells them apart. */
export type SshRole = 'read' | 'write';

export function sshEndpoint(settings: SshSettings, placement: Placement, role: SshRole): SshEndpoint {
  return {
    host: placement.host,
    port: settings.port,
    user: settings.user,
    knownHostsPath: settings.knownHosts,
    keyPath: settings.keys[role],
    connectTimeoutMs: settings.connectTimeoutSeconds * 1000,
  };
}

/** What one run of deploy/remote/hermes-remote came to, for reads and writes alike. */
export type HelperOutcome =
  | { kind: 'ok'; stdout: string }
  | { kind: 'timed_out' }
  /** The connection ended before the command exited: it may have run. */
  | { kind: 'ended'; signal: string | null; output: string }
  /** The helper's own refusal (exit 2 and its `hermes-remote: refused: …` line): nothing ran. */
  | { kind: 'refused'; refusal: string }
  | { kind: 'failed'; exitCode: number; output: string };

export function helperOutcome(result: SshRunResult): HelperOutcome {
  if (result.timedOut) return { kind: 'timed_out' };
  if (result.exitCode === null)
    return { kind: 'ended', signal: result.signal, output: result.stderr || result.stdout };
  const refusal = refusalLine(result.stderr);
  if (result.exitCode === 2 && refusal) return { kind: 'refused', refusal };
  if (result.exitCode !== 0)
    return { kind: 'failed', exitCode: result.exitCode, output: result.stderr || result.stdout };
  return { kind: 'ok', stdout: result.stdout };
}

/** The helper's refusal line (`hermes-remote: refused: …`), when its output holds one. */
function refusalLine(stderr: string): string | null {
  const line = stderr.split('\n').find((l) => l.startsWith('hermes-remote: refused:'));
  return line ? line.slice('hermes-remote: '.length) : null;
}
