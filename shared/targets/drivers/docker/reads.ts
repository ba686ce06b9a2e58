import type { DockerTarget } from '../../../remote/docker.js';
import { TargetReadError, type TargetReads } from '../driver.js';

/** A container's logs, state and stats, asked of its engine. */
export function dockerReads(docker: DockerTarget): TargetReads {
  return {
    logs: (_placement, unit, lines, level) => docker.logs(unit, { lines, level }),
    async resources(placement) {
      const container = placement.resource;
      if (!container) throw new TargetReadError(`the alerts name no container on target ${placement.target}`);
      const [state, stats] = await Promise.all([docker.state(container), docker.stats(container)]);
      return { container, state, stats };
    },
    async diag(placement) {
      throw new TargetReadError(
        `run_diagnosis_command is not available on ${placement.kind} targets; use check_system_resources and get_service_logs`,
      );
    },
  };
}
