import type { Alert } from '../../shared/schemas/alertmanager.js';

interface Recorded {
  startsAt: string;
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
 *
 * Two generations of at most capacity/2 entries each: when the newer fills up, the older is dropped
 * whole (deleting Map entries one by one from the front gets slow in V8).
 */
export class RecentAlerts {
  private newer = new Map<string, Recorded>();
  private older = new Map<string, Recorded>();
  private current: string | null = null;

  constructor(
    private readonly capacity: number,
    private readonly maxAgeMs: number,
  ) {}

  /** The Redis epoch the entries belong to (null: none yet, or forgotten). */
  get epoch(): string | null {
    return this.current;
  }

  /** Keeps the entries if they were recorded under this epoch; otherwise forgets them all. */
  adopt(epoch: string): void {
    if (epoch === this.current) return;
    this.forget();
    this.current = epoch;
  }

  /**
   * Forgets everything, and refuses entries from requests that adopted the epoch before: for when
   * the connection to Redis dropped (a failover may have lost the last writes, epoch and all).
   */
  forget(): void {
    this.newer = new Map();
    this.older = new Map();
    this.current = null;
  }

  /** The incident a re-sent alert belongs to, or undefined when Redis has to decide. */
  duplicateOf(alert: Alert, nowMs: number): string | undefined {
    const recorded = this.newer.get(alert.fingerprint) ?? this.older.get(alert.fingerprint);
    if (!recorded || recorded.startsAt !== alert.startsAt || nowMs - recorded.atMs > this.maxAgeMs)
      return undefined;
    // A resolved alert is news unless its resolution is what was recorded.
    if (alert.status === 'resolved' && recorded.status !== 'resolved') return undefined;
    return recorded.incidentId;
  }

  /**
   * Call only once Redis holds the alert with this status (and its incident's jobs are queued), with
   * the epoch adopted before Redis was asked: entries from before a `forget()` are dropped.
   */
  remember(alert: Alert, incidentId: string, nowMs: number, epoch: string): void {
    if (this.capacity === 0 || epoch !== this.current) return;
    // One entry per fingerprint: its latest firing (a new startsAt) replaces the one before.
    this.newer.set(alert.fingerprint, {
      startsAt: alert.startsAt,
      incidentId,
      status: alert.status,
      atMs: nowMs,
    });
    if (this.newer.size >= Math.ceil(this.capacity / 2)) {
      this.older = this.newer;
      this.newer = new Map();
    }
  }

  /** Entries held (an alert remembered in both generations counts twice). */
  get size(): number {
    return this.newer.size + this.older.size;
  }
}
