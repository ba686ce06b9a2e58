import type { SshSettings } from '../targets/schema.js';
import type { Placement } from '../targets/targets.js';
import type { SshEndpoint } from './ssh.js';

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

/** The helper's refusal line (`hermes-remote: refused: …`), when its output holds one. */
export function helperRefusal(stderr: string): string | null {
  const line = stderr.split('\n').find((l) => l.startsWith('hermes-remote: refused:'));
  return line ? line.slice('hermes-remote: '.length) : null;
}

/** The last non-empty lines of a command's output, for a one-line reason. */
export function excerpt(text: string, max = 300): string {
  const lines = text.trim().split('\n').filter(Boolean);
  const tail = lines.slice(-3).join(' | ');
  return tail.length > max ? `…${tail.slice(-max)}` : tail;
}
