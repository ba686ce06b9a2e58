import type { Keyspace } from '../../../shared/keys.js';
import type { RedisConnection } from '../../../shared/redis.js';

const HOUR_MS = 3_600_000;
export const ACTIVITY_HOURS = 24;
/** Audit entries read for the chart at most: past that, the action bars undercount (and say so). */
const AUDIT_SCAN = 20_000;

export interface ActivityHour {
  /** Start of the hour, ms. */
  start: number;
  incidents: number;
  actions: number;
}

export interface Activity {
  hours: ActivityHour[];
  /** More audit entries than were read: the action counts of the oldest hours are low. */
  partial: boolean;
}

/**
 * Incidents opened and executor decisions on actions per hour over the last day: incidents from
 * the index scored by creation time, actions from the audit stream (whose ids are timestamps).
 */
export async function readActivity(
  redis: RedisConnection,
  keys: Keyspace,
  now = Date.now(),
): Promise<Activity> {
  const end = Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS;
  const hours: ActivityHour[] = Array.from({ length: ACTIVITY_HOURS }, (_, i) => ({
    start: end - (ACTIVITY_HOURS - i) * HOUR_MS,
    incidents: 0,
    actions: 0,
  }));
  const pipeline = redis.pipeline();
  for (const hour of hours) pipeline.zcount(keys.incidentIndex, hour.start, `(${hour.start + HOUR_MS}`);
  const counts = (await pipeline.exec()) ?? [];
  counts.forEach(([error, count], i) => {
    const hour = hours[i];
    if (!error && hour) hour.incidents = Number(count);
  });
  const first = hours[0]?.start ?? end;
  const entries = (await redis.xrevrange(keys.audit, '+', String(first), 'COUNT', AUDIT_SCAN)) as [
    string,
    string[],
  ][];
  for (const [id, fields] of entries) {
    const data = fields[fields.indexOf('data') + 1] ?? '';
    if (!data.includes('"event":"action"')) continue;
    const hour = hours[Math.floor((Number(id.split('-')[0]) - first) / HOUR_MS)];
    if (hour) hour.actions++;
  }
  return { hours, partial: entries.length === AUDIT_SCAN };
}
