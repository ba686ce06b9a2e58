import type { Alert } from '../../shared/schemas/alertmanager.js';

/** One request's recording: the incident of each of its alerts once settled, or its error. */
interface Batch {
  incidents: Promise<string[]>;
}

interface Pending {
  startsAt: string;
  status: Alert['status'];
  batch: Batch;
  /** This alert's place in its batch. */
  index: number;
}

export interface Recording {
  /** The incident of each alert, in the order given to `begin`. */
  settle(incidentIds: string[]): void;
  fail(error: Error): void;
}

/**
 * Alerts a request of this process is recording right now. HA peers and retries send the same alert
 * at the same moment: a second request joins the first instead of asking Redis, and answers only once
 * the first has recorded it (so its 202 still means "in Redis"), or fails with the first's error.
 *
 * One promise per recording, not per alert: most alerts are never joined, and a webhook's worth of
 * promises per request was a measurable share of ingest's garbage collection.
 */
export class InFlightAlerts {
  private readonly pending = new Map<string, Pending>();

  /** The recording this alert would duplicate, if one is under way. */
  join(alert: Alert): Promise<string> | undefined {
    const pending = this.pending.get(alert.fingerprint);
    if (!pending || pending.startsAt !== alert.startsAt) return undefined;
    if (alert.status === 'resolved' && pending.status !== 'resolved') return undefined;
    return pending.batch.incidents.then((ids) => ids[pending.index] as string);
  }

  /** Registers alerts about to be recorded. */
  begin(alerts: Alert[]): Recording {
    let settle!: (incidentIds: string[]) => void;
    let fail!: (error: Error) => void;
    const batch: Batch = {
      incidents: new Promise<string[]>((resolve, reject) => {
        settle = resolve;
        fail = reject;
      }),
    };
    // Nobody may join: a failure must not become an unhandled rejection.
    batch.incidents.catch(() => undefined);
    for (let index = 0; index < alerts.length; index++) {
      const alert = alerts[index] as Alert;
      this.pending.set(alert.fingerprint, { startsAt: alert.startsAt, status: alert.status, batch, index });
    }
    const finish = () => {
      for (const alert of alerts) {
        if (this.pending.get(alert.fingerprint)?.batch === batch) this.pending.delete(alert.fingerprint);
      }
    };
    return {
      settle: (incidentIds) => {
        finish();
        settle(incidentIds);
      },
      fail: (error) => {
        finish();
        fail(error);
      },
    };
  }
}
