import { type ContainerIdentity, DockerTargetError } from '../../shared/remote/docker.js';
import type { SshPool } from '../../shared/remote/ssh.js';
import { type Backend, TargetClients } from '../../shared/targets/drivers/driver.js';
import type { ScopedPlacement } from '../../shared/targets/drivers/placement.js';
import { driverAt } from '../../shared/targets/registry.js';
import type { Targets } from '../../shared/targets/targets.js';
import type { Containers } from './placement.js';
import type { Policy } from './policy.js';

/** Chooses the backend for a tool at a place (TargetBackends; the eval's dry stand-in). */
export interface BackendChooser extends Containers {
  for(toolName: string, placement: ScopedPlacement): Backend | string;
  close(): void;
}

/**
 * The backend that carries out a tool on the place an incident names: the write verbs of the
 * target's driver (ssh helper verb, Docker Engine API, Kubernetes API, or the policy's local backend
 * where a target says `local`).
 */
export class TargetBackends implements BackendChooser {
  private readonly clients: TargetClients;

  constructor(
    private readonly policy: Policy,
    private readonly targets: Targets,
    private readonly local: ReadonlyMap<string, Backend>,
    ssh: SshPool,
  ) {
    this.clients = new TargetClients({ ssh });
  }

  /** The backend, or why the tool cannot act there. */
  for(toolName: string, placement: ScopedPlacement): Backend | string {
    const tool = this.policy.tool(toolName);
    const found = driverAt(this.targets, placement);
    if (!tool || typeof found === 'string') return `${toolName} cannot act on target ${placement.target}`;
    return found.driver.writes(found.config, placement, {
      clients: this.clients,
      tool: {
        name: toolName,
        operation: tool.operation,
        cleanRoots: tool.backend?.kind === 'disk' ? tool.backend.roots : [],
      },
      local: this.local.get(toolName),
    });
  }

  /** A docker target's container (name, id or unique id prefix) as its engine resolves it, or why not. */
  async container(targetName: string, container: string): Promise<ContainerIdentity | string> {
    const target = this.targets.get(targetName);
    if (target?.kind !== 'docker') return `target ${targetName} is not a docker target`;
    try {
      return await this.clients.docker.get(target.name, target.docker).identify(container);
    } catch (error) {
      if (error instanceof DockerTargetError) return error.message;
      throw error;
    }
  }

  close(): void {
    this.clients.close();
  }
}
