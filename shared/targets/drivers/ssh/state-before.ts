import type { TargetState } from '../driver.js';

const STATE_PREFIX = 'before: ';
const ERROR_PREFIX = 'before-error: ';

/**
 * The unit's state that the helper's `restart` prints before restarting it ("before: Key=Value"
 * in `systemctl show` words, "before-error: <log line>"); undefined when it printed none (an
 * older helper, or a host whose config turns the state off).
 */
export function parseStateBefore(stdout: string): TargetState | undefined {
  const values = new Map<string, string>();
  const errorLines: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith(ERROR_PREFIX)) errorLines.push(line.slice(ERROR_PREFIX.length));
    else if (line.startsWith(STATE_PREFIX)) {
      const [key, ...value] = line.slice(STATE_PREFIX.length).split('=');
      if (key) values.set(key, value.join('=').trim());
    }
  }
  if (values.size === 0 && errorLines.length === 0) return undefined;
  const active = values.get('ActiveState') || null;
  const sub = values.get('SubState');
  const result = values.get('Result');
  return {
    status: active && sub && sub !== active ? `${active} (${sub})` : active,
    restartCount: whole(values.get('NRestarts')),
    exitCode: whole(values.get('ExecMainStatus')),
    oomKilled: result ? result === 'oom-kill' : null,
    errorLines,
  };
}

function whole(value: string | undefined): number | null {
  return value && /^\d+$/.test(value) ? Number(value) : null;
}
