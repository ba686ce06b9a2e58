import { excerpt } from '../../../remote/excerpt.js';
import type { ReadContext, TargetReads } from '../driver.js';
import { TargetReadError } from '../driver.js';
import type { ScopedPlacement } from '../placement.js';
import { describeSsh } from './describe.js';
import { helperOutcome, sshEndpoint } from './helper.js';
import type { SshSettings } from './settings.js';

/** An ssh target's read verbs, through its forced-command helper with triage's read key. */
export function sshReads(settings: SshSettings, context: ReadContext): TargetReads {
  const helper = async (placement: ScopedPlacement, command: string): Promise<string> => {
    const result = await context.clients.ssh
      .exec(
        sshEndpoint(settings, placement, 'read'),
        command,
        Math.min(context.timeoutMs, settings.commandTimeoutSeconds * 1000),
      )
      .catch((error: Error) => {
        throw new TargetReadError(error.message);
      });
    const outcome = helperOutcome(result);
    switch (outcome.kind) {
      case 'ok':
        return outcome.stdout;
      case 'timed_out':
        throw new TargetReadError(`${command} on ${placement.host} timed out`);
      case 'refused':
        throw new TargetReadError(`${placement.host}: ${outcome.refusal}`);
      case 'ended':
        throw new TargetReadError(
          `${command} on ${placement.host} exited with ${outcome.signal}: ${excerpt(outcome.output) || 'no output'}`,
        );
      case 'failed':
        throw new TargetReadError(
          `${command} on ${placement.host} exited with ${outcome.exitCode}: ${excerpt(outcome.output) || 'no output'}`,
        );
    }
  };
  return {
    async logs(placement, unit, lines, level) {
      const output = await helper(placement, `logs ${unit} ${lines} ${level}`);
      return output.split('\n').filter((line) => line.trim() !== '');
    },
    // The host's node exporter answers for it when there is a Prometheus.
    ...(context.hasPrometheus
      ? {}
      : {
          resources: async (placement: ScopedPlacement) =>
            parseResources(await helper(placement, 'resources')),
        }),
    async diag(placement, command) {
      const name = command.trim();
      if (!/^[a-z0-9_-]{1,50}$/.test(name))
        throw new TargetReadError(
          `"${name.slice(0, 60)}" is not a diagnostic name; ask for one the host's helper lists (df, uptime, …)`,
        );
      return {
        source: describeSsh(placement, placement.resource),
        stdout: await helper(placement, `diag ${name}`),
      };
    },
  };
}

/** The helper's `resources` lines (`load1 0.5`, `mem_total_kb 123`, `disk /var 42`) as numbers. */
export function parseResources(output: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const disks: { mountpoint: string; percent: number }[] = [];
  for (const line of output.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    if (trimmed.startsWith('disk ')) {
      const last = trimmed.lastIndexOf(' ');
      disks.push({ mountpoint: trimmed.slice(5, last), percent: Number(trimmed.slice(last + 1)) });
      continue;
    }
    const [key, value] = trimmed.split(/\s+/, 2);
    if (key && value !== undefined) out[key] = Number(value);
  }
  const total = Number(out.mem_total_kb);
  const available = Number(out.mem_available_kb);
  if (total > 0 && Number.isFinite(available))
    out.memory_percent_used = Math.round((1 - available / total) * 1000) / 10;
  return { ...out, disk: disks };
}
