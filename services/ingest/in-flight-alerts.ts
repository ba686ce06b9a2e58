import type { Alert } from '../../shared/schemas/alertmanager.js';

interface Pending {
  startsAt: string;
  status: Alert['status'];
  /** The incident, once the owning request has recorded the alert; its error if that failed. */
  recorded: Promise<string>;
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
 */
export class InFlightAlerts {
  private readonly pending = new Map<string, Pending>();

  /** The recording this alert would duplicate, if one is under way. */
  join(alert: Alert): Promise<string> | undefined {
    const pending = this.pending.get(alert.fingerprint);
    if (!pending || pending.startsAt !== alert.startsAt) return undefined;
    if (alert.status === 'resolved' && pending.status !== 'resolved') return undefined;
    return pending.recorded;
  }

  /** Registers alerts about to be recorded. */
  begin(alerts: Alert[]): Recording {
    const outcomes: { resolve(id: string): void; reject(error: Error): void }[] = [];
    const entries = alerts.map((alert) => {
      const recorded = new Promise<string>((resolve, reject) => outcomes.push({ resolve, reject }));
      // Nobody may join: a failure must not become an unhandled rejection.
      recorded.catch(() => undefined);
      const entry: Pending = { startsAt: alert.startsAt, status: alert.status, recorded };
      this.pending.set(alert.fingerprint, entry);
      return entry;
    });
    const finish = (each: (k: number) => void) => {
      entries.forEach((entry, k) => {
        const fingerprint = (alerts[k] as Alert).fingerprint;
        if (this.pending.get(fingerprint) === entry) this.pending.delete(fingerprint);
        each(k);
      });
    };
    return {
      settle: (incidentIds) => finish((k) => outcomes[k]?.resolve(incidentIds[k] as string)),
      fail: (error) => finish((k) => outcomes[k]?.reject(error)),
    };
  }
}
