import type { TargetDriver } from '../driver.js';
import type { Placement } from '../placement.js';
import { serviceOf } from '../resource.js';
import { topologyWords } from '../topology.js';

type LocalTarget = { name: string; resource?: string | undefined };

function describeLocal(placement: Placement, resource: string | null): string {
  return `${resource ? `${resource} on ` : ''}the executor's own machine${topologyWords(placement)} (local target ${placement.target})`;
}

/**
 * The machine Hermes runs on: triage reads its log files and allowlisted commands, the executor runs
 * the policy's local backends (command, disk); Prometheus answers for its resources (no read here).
 */
export const localDriver: TargetDriver<LocalTarget> = {
  place: (config, alert) => ({ host: 'localhost', resource: serviceOf(config, alert) }),
  describe: describeLocal,
  describeShort: (placement) =>
    `${placement.resource ? `${placement.resource} on ` : ''}the executor's machine${topologyWords(placement)}`,
  reads: (_config, context) => ({
    logs: (_placement, unit, lines, level) => context.local.logs(unit, lines, level),
    diag: (_placement, command) => context.local.diag(command),
  }),
  writes: (_config, _placement, context) => context.local ?? `${context.tool.name} has no backend configured`,
};
