import type { DockerTarget } from '../../../remote/docker.js';
import { STATE_BEFORE_LINES } from '../../../schemas/incident.js';
import type { Backend, Operation } from '../driver.js';
import type { ScopedPlacement } from '../placement.js';
import { describeDocker } from './describe.js';

/**
 * A docker target: only `restart` of the container the incident names, by the full id its engine
 * resolved (see ActionPlacer); decisions name it by its name.
 */
export function dockerWrites(
  docker: DockerTarget,
  placement: ScopedPlacement,
  operation: Operation,
): Backend | string {
  if (operation.verb !== 'restart')
    return `${operation.verb} is not available on docker targets (target ${placement.target})`;
  const { resource: name, containerId: id } = placement;
  const describe = () => ({
    operation: `restart ${describeDocker(placement, placement.resource)}`,
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
    async stateBefore() {
      const [state, errorLines] = await Promise.all([
        docker.state(id as string),
        docker.logs(id as string, { lines: STATE_BEFORE_LINES, level: 'error' }),
      ]);
      const { status, restartCount, exitCode, oomKilled } = state;
      return { status, restartCount, exitCode, oomKilled, errorLines };
    },
    async actsOn() {
      return { key: id as string, name: name as string };
    },
  };
}
