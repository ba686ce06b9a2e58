import type { Redis } from 'ioredis';
import type { Keyspace } from '../../shared/keys.js';

export interface Accounting {
  incidents: number;
  /** Sum of alertCount over every incident. */
  alertCount: number;
  /** Fingerprint → how many incidents hold it. */
  holders: Map<string, number>;
  /** Incidents waiting for triage (ingest's backlog) that have no triage job. */
  backlogWithoutJob: string[];
}

/** Reads, straight from Redis, which incident holds which alert. */
export async function account(redis: Redis, keys: Keyspace): Promise<Accounting> {
  const ids = await redis.zrange(keys.incidentIndex, 0, -1);
  const holders = new Map<string, number>();
  let alertCount = 0;
  for (const id of ids) {
    alertCount += Number((await redis.hget(keys.incident(id), 'alertCount')) ?? 0);
    for (const fingerprint of await redis.hkeys(keys.incidentAlerts(id)))
      holders.set(fingerprint, (holders.get(fingerprint) ?? 0) + 1);
  }
  const backlogWithoutJob: string[] = [];
  for (const id of await redis.smembers(keys.triageBacklog)) {
    if (!(await redis.exists(`${keys.bullPrefix}:triage:triage-${id}`))) backlogWithoutJob.push(id);
  }
  return { incidents: ids.length, alertCount, holders, backlogWithoutJob };
}
