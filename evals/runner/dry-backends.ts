import type { Backend } from '../../services/executor/backends.js';
import type { BackendChooser, TargetBackends } from '../../services/executor/target-backends.js';
import { sha256 } from '../../shared/canonical.js';
import type { ContainerIdentity } from '../../shared/remote/docker.js';
import type { ScopedPlacement } from '../../shared/targets/drivers/placement.js';
import { describePlacement, type Targets } from '../../shared/targets/targets.js';

/**
 * The executor's backends for an eval: the real choice of backend per target kind and the real
 * prechecks (paths under the clean roots, unit names), but nothing that contacts a target. A
 * kubernetes target is only described (its prechecks and live counts need the cluster), and no
 * backend can run or dry-run: the executor runs in dry-run mode and records what it would do. No
 * Docker engine is asked which container a name is, either.
 */
export function dryBackends(real: TargetBackends, targets: Targets): BackendChooser {
  return {
    for(toolName: string, placement: ScopedPlacement): Backend | string {
      const backend = real.for(toolName, placement);
      if (typeof backend === 'string') return backend;
      const offline = targets.get(placement.target)?.kind === 'kubernetes';
      return {
        precheck: offline ? async () => null : (args) => backend.precheck(args),
        describe: offline
          ? async () => ({ operation: `${toolName} ${describePlacement(placement)} (not contacted: eval)` })
          : (args) => backend.describe(args),
        run: async () => ({
          ok: false,
          decision: 'blocked',
          reason: 'an eval never runs anything (EXECUTION_MODE must be dry-run)',
        }),
      };
    },
    // The world's containers are the ones its alerts name: each is itself, with an id made from its name.
    async container(targetName: string, container: string): Promise<ContainerIdentity | string> {
      return targets.get(targetName)?.kind === 'docker'
        ? { name: container, id: sha256(`${targetName}/${container}`) }
        : `target ${targetName} is not a docker target`;
    },
    close: () => real.close(),
  };
}
