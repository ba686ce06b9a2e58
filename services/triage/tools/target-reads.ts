import type { IncidentStore } from '../../../shared/incidents.js';
import type { LogLevel } from '../../../shared/log-levels.js';
import type { SshPool } from '../../../shared/remote/ssh.js';
import {
  type TargetReads as DriverReads,
  type ReadContext,
  TargetClients,
} from '../../../shared/targets/drivers/driver.js';
import type { ScopedPlacement } from '../../../shared/targets/drivers/placement.js';
import { driverAt } from '../../../shared/targets/registry.js';
import { type IncidentScope, incidentScope } from '../../../shared/targets/scope.js';
import type { Targets } from '../../../shared/targets/targets.js';
import { type DiagnosisAllowlist, runDiagnosis } from './diagnosis.js';
import type { LogSource } from './logs.js';
import { ToolError } from './tool-error.js';

/** What triage reads on its own machine (local targets), and whether Prometheus answers for hosts. */
export type LocalReads = Pick<ReadContext, 'local' | 'hasPrometheus'>;

/** Triage's own machine: its log files and its allowlisted commands. */
export function localReads(options: {
  logs: LogSource;
  allowlist: DiagnosisAllowlist;
  diagnosisTimeoutMs: number;
  hasPrometheus: boolean;
}): LocalReads {
  return {
    hasPrometheus: options.hasPrometheus,
    local: {
      logs: (unit, lines, level) => options.logs.tail(unit, { lines, level }),
      diag: (command) =>
        runDiagnosis(options.allowlist, command, options.diagnosisTimeoutMs).catch((error: Error) => {
          throw new ToolError(error.message);
        }),
    },
  };
}

const NO_LOCAL_READS: LocalReads = {
  hasPrometheus: false,
  local: {
    logs: async () => {
      throw new ToolError('no log source for local targets');
    },
    diag: async () => {
      throw new ToolError('no diagnosis allowlist for local targets');
    },
  },
};

/**
 * Triage's read-only view of an incident's targets: its scope from the stored alerts, and the read
 * verbs of each place's driver (ssh through the helper with the read key, docker, kubernetes, local).
 */
export class TargetReads {
  private readonly clients: TargetClients;
  private readonly context: ReadContext;

  constructor(
    private readonly targets: Targets,
    private readonly store: IncidentStore,
    ssh: SshPool,
    timeoutMs: number,
    local: LocalReads = NO_LOCAL_READS,
  ) {
    this.clients = new TargetClients({ ssh, maxTimeoutMs: timeoutMs });
    this.context = { ...local, clients: this.clients, timeoutMs };
  }

  scope(incidentId: string): Promise<IncidentScope> {
    return incidentScope(this.targets, this.store, incidentId);
  }

  logs(placement: ScopedPlacement, unit: string, lines: number, level: LogLevel): Promise<string[]> {
    return this.readsAt(placement).logs(placement, unit, lines, level);
  }

  /** Whether the place reports its own resources (else only Prometheus knows them). */
  hasResources(placement: ScopedPlacement): boolean {
    return this.readsAt(placement).resources !== undefined;
  }

  /**
   * Load, memory and disk use as the host reports them; a container's state and stats for docker;
   * a workload's rollout, pods and events for kubernetes.
   */
  resources(placement: ScopedPlacement): Promise<Record<string, unknown>> {
    const reads = this.readsAt(placement);
    if (!reads.resources) throw new ToolError('no Prometheus configured (PROMETHEUS_URL)');
    return reads.resources(placement);
  }

  diag(placement: ScopedPlacement, command: string): Promise<Record<string, unknown>> {
    return this.readsAt(placement).diag(placement, command);
  }

  close(): void {
    this.clients.close();
  }

  private readsAt(placement: ScopedPlacement): DriverReads {
    const found = driverAt(this.targets, placement);
    if (typeof found === 'string') throw new ToolError(found);
    return found.driver.reads(found.config, this.context);
  }
}
