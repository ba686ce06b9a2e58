import type { ApprovalStore } from '../../../shared/approvals.js';
import type { Current } from '../../../shared/config-reload.js';
import type { AutomationControl } from '../../../shared/control.js';
import type { IncidentStore } from '../../../shared/incidents.js';
import type { Keyspace } from '../../../shared/keys.js';
import type { RedisConnection } from '../../../shared/redis.js';
import type { Targets } from '../../../shared/targets/targets.js';
import type { AdminGate } from '../auth.js';
import type { IngestEnv } from '../env.js';
import type { Session } from '../session.js';
import type { AutomationStatusReader } from './automation-status.js';

export interface ConsoleDeps {
  env: Pick<IngestEnv, 'PROMETHEUS_EXTERNAL_URL' | 'GRAFANA_URL' | 'AUDIT_MAX_ENTRIES' | 'POLICY_FILE'>;
  redis: RedisConnection;
  keys: Keyspace;
  incidents: IncidentStore;
  /** Where incidents are (TARGETS_FILE as last loaded), or why that is unknown. */
  targets: Current<Targets | Error>;
  approvals: ApprovalStore;
  control: AutomationControl;
  /** The credentials, their guess limits and the sessions, shared with the API. */
  gate: AdminGate;
}

/** What the console's pages and live regions read from. */
export interface ConsoleReads extends ConsoleDeps {
  status: AutomationStatusReader;
}

export type ConsoleEnv = { Variables: { session: Session } };
