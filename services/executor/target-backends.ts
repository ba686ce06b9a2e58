import { type ContainerIdentity, DockerTargetError, DockerTargets } from '../../shared/remote/docker.js';
import { KubernetesTargets } from '../../shared/remote/kubernetes.js';
import type { SshPool } from '../../shared/remote/ssh.js';
import type { Placement, Targets } from '../../shared/targets/targets.js';
import type { Backend } from './backends.js';
import { kubernetesBackend } from './kubernetes-backend.js';
import type { Containers } from './placement.js';
import type { Policy } from './policy.js';
import { dockerBackend, sshBackend } from './remote-backends.js';

/** Chooses the backend for a tool at a place (TargetBackends; the eval's dry stand-in). */
export interface BackendChooser extends Containers {
  for(toolName: string, placement: Placement): Backend | string;
  close(): void;
}

/**
 * The backend that carries out a tool on the place an incident names: the target kind decides how
 * (ssh helper verb, Docker Engine API, Kubernetes API, or the policy's local backend where a target
 * says `local`).
 */
export class TargetBackends implements BackendChooser {
  private readonly docker = new DockerTargets();
  private readonly kubernetes = new KubernetesTargets();

  constructor(
    private readonly policy: Policy,
    private readonly targets: Targets,
    private readonly local: ReadonlyMap<string, Backend>,
    private readonly ssh: SshPool,
  ) {}

  /** The backend, or why the tool cannot act there. */
  for(toolName: string, placement: Placement): Backend | string {
    const tool = this.policy.tool(toolName);
    const target = this.targets.get(placement.target);
    if (!tool || !target) return `${toolName} cannot act on target ${placement.target}`;
    if (target.kind === 'local') return this.local.get(toolName) ?? `${toolName} has no backend configured`;
    if (!tool.operation)
      return `${toolName} has no operation for ${target.kind} targets (target ${target.name}); it only acts on local targets`;
    if (target.kind === 'ssh') {
      const roots = tool.backend?.kind === 'disk' ? tool.backend.roots : [];
      return sshBackend(this.ssh, target.ssh, placement, tool.operation, roots);
    }
    if (target.kind === 'kubernetes')
      return kubernetesBackend(
        this.kubernetes.get(target.name, target.kubernetes),
        placement,
        tool.operation,
      );
    return dockerBackend(this.docker.get(target.name, target.docker), placement, tool.operation);
  }

  /** A docker target's container (name, id or unique id prefix) as its engine resolves it, or why not. */
  async container(targetName: string, container: string): Promise<ContainerIdentity | string> {
    const target = this.targets.get(targetName);
    if (target?.kind !== 'docker') return `target ${targetName} is not a docker target`;
    try {
      return await this.docker.get(target.name, target.docker).identify(container);
    } catch (error) {
      if (error instanceof DockerTargetError) return error.message;
      throw error;
    }
  }

  close(): void {
    this.ssh.close();
    this.docker.close();
  }
}
