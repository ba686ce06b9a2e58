import type { IncidentStore } from '../../../shared/incidents.js';
import { type DockerTarget, DockerTargets } from '../../../shared/remote/docker.js';
import { excerpt, helperRefusal, sshEndpoint } from '../../../shared/remote/endpoint.js';
import { KubernetesTargetError, KubernetesTargets } from '../../../shared/remote/kubernetes.js';
import type { SshPool } from '../../../shared/remote/ssh.js';
import { type IncidentScope, scopeOf } from '../../../shared/targets/scope.js';
import type { Placement, Targets } from '../../../shared/targets/targets.js';
import { KubernetesReads } from './kubernetes-reads.js';
import type { LogLevel } from './logs.js';
import { ToolError } from './tool-error.js';

/**
 * Triage's read-only view of an incident's targets: its scope from the stored alerts, and the
 * read verbs of ssh targets (through the helper, with the read key), docker and kubernetes targets.
 */
export class TargetReads {
  private readonly docker = new DockerTargets();
  private readonly kubernetes: KubernetesTargets;

  constructor(
    private readonly targets: Targets,
    private readonly store: IncidentStore,
    private readonly ssh: SshPool,
    private readonly timeoutMs: number,
  ) {
    this.kubernetes = new KubernetesTargets({ maxTimeoutMs: timeoutMs });
  }

  async scope(incidentId: string): Promise<IncidentScope> {
    const alerts = await this.store.storedAlerts(incidentId);
    return scopeOf(
      this.targets,
      alerts.map((alert) => alert.labels),
    );
  }

  async logs(placement: Placement, unit: string, lines: number, level: LogLevel): Promise<string[]> {
    if (placement.kind === 'docker') return this.dockerOf(placement).logs(unit, { lines, level });
    if (placement.kind === 'kubernetes')
      return this.kubernetesOf(placement, (reads) => reads.logs(lines, level));
    const output = await this.helper(placement, `logs ${unit} ${lines} ${level}`);
    return output.split('\n').filter((line) => line.trim() !== '');
  }

  /**
   * Load, memory and disk use as the host reports them; a container's state and stats for docker;
   * a workload's rollout, pods and events for kubernetes.
   */
  async resources(placement: Placement): Promise<Record<string, unknown>> {
    if (placement.kind === 'kubernetes') return this.kubernetesOf(placement, (reads) => reads.status());
    if (placement.kind === 'docker') {
      const docker = this.dockerOf(placement);
      const container = placement.resource;
      if (!container) throw new ToolError(`the alerts name no container on target ${placement.target}`);
      const [state, stats] = await Promise.all([docker.state(container), docker.stats(container)]);
      return { container, state, stats };
    }
    return parseResources(await this.helper(placement, 'resources'));
  }

  async diag(placement: Placement, name: string): Promise<Record<string, unknown>> {
    if (placement.kind === 'kubernetes') return this.kubernetesOf(placement, (reads) => reads.diag(name));
    if (placement.kind !== 'ssh')
      throw new ToolError(
        `run_diagnosis_command is not available on ${placement.kind} targets; use check_system_resources and get_service_logs`,
      );
    if (!/^[a-z0-9_-]{1,50}$/.test(name))
      throw new ToolError(
        `"${name.slice(0, 60)}" is not a diagnostic name; ask for one the host's helper lists (df, uptime, …)`,
      );
    return { stdout: await this.helper(placement, `diag ${name}`) };
  }

  close(): void {
    this.ssh.close();
    this.docker.close();
  }

  private async helper(placement: Placement, command: string): Promise<string> {
    const target = this.targets.get(placement.target);
    if (target?.kind !== 'ssh') throw new ToolError(`target ${placement.target} is not an ssh target`);
    const result = await this.ssh
      .exec(
        sshEndpoint(target.ssh, placement, 'read'),
        command,
        Math.min(this.timeoutMs, target.ssh.commandTimeoutSeconds * 1000),
      )
      .catch((error: Error) => {
        throw new ToolError(error.message);
      });
    if (result.timedOut) throw new ToolError(`${command} on ${placement.host} timed out`);
    const refusal = helperRefusal(result.stderr);
    if (refusal) throw new ToolError(`${placement.host}: ${refusal}`);
    if (result.exitCode !== 0)
      throw new ToolError(
        `${command} on ${placement.host} exited with ${result.exitCode ?? result.signal}: ${excerpt(result.stderr || result.stdout) || 'no output'}`,
      );
    return result.stdout;
  }

  /** A read on the incident's workload; the cluster's failures become the tool's error line. */
  private async kubernetesOf<T>(
    placement: Placement,
    read: (reads: KubernetesReads) => Promise<T>,
  ): Promise<T> {
    const target = this.targets.get(placement.target);
    if (target?.kind !== 'kubernetes')
      throw new ToolError(`target ${placement.target} is not a kubernetes target`);
    const cluster = this.kubernetes.get(target.name, target.kubernetes);
    return read(new KubernetesReads(cluster, placement)).catch((error: Error) => {
      throw error instanceof KubernetesTargetError ? new ToolError(error.message) : error;
    });
  }

  private dockerOf(placement: Placement): DockerTarget {
    const target = this.targets.get(placement.target);
    if (target?.kind !== 'docker') throw new ToolError(`target ${placement.target} is not a docker target`);
    return this.docker.get(target.name, target.docker);
  }
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
