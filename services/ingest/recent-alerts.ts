import type { Alert } from '../../shared/schemas/alertmanager.js';

interface Recorded {
  incidentId: string;
  status: Alert['status'];
  atMs: number;
}

/**
 * Alerts this process has recorded in Redis, so that their re-sends (every group_interval and
 * repeat_interval, and once per HA peer) are answered without a Redis round trip.
 *
 * An entry only ever answers "duplicate", and only while the Redis record it stands for must still
 * exist: it is added after Redis confirmed the record, it is younger than `maxAgeMs` (well inside the
 * record's TTL), and it belongs to the current Redis epoch (a key ingest writes once; a flushed or
 * replaced Redis has none or another, which empties the cache). Anything else goes to Redis.
 */
export class RecentAlerts {
  private readonly entries = new Map<string, Recorded>();
  private epoch: string | null = null;

  constructor(
    private readonly capacity: number,
    private readonly maxAgeMs: number,
  ) {}

  /** True when the entries were recorded under this epoch; otherwise forgets them all. */
  adopt(epoch: string): boolean {
    if (epoch === this.epoch) return true;
    this.entries.clear();
    this.epoch = epoch;
    return false;
  }

  /** The incident a re-sent alert belongs to, or undefined when Redis has to decide. */
  duplicateOf(alert: Alert, nowMs: number): string | undefined {
    if (this.capacity === 0) return undefined;
    const recorded = this.entries.get(entryKey(alert));
    if (!recorded || nowMs - recorded.atMs > this.maxAgeMs) return undefined;
    // A resolved alert is news unless its resolution is what was recorded.
    if (alert.status === 'resolved' && recorded.status !== 'resolved') return undefined;
    return recorded.incidentId;
  }

  /** Call only once Redis holds the alert with this status (and its incident's jobs are queued). */
  remember(alert: Alert, incidentId: string, nowMs: number): void {
    if (this.capacity === 0) return;
    const key = entryKey(alert);
    this.entries.delete(key);
    this.entries.set(key, { incidentId, status: alert.status, atMs: nowMs });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

function entryKey(alert: Alert): string {
  return `${alert.fingerprint} ${alert.startsAt}`;
}
