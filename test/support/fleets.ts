import type { FleetPlace } from '../../shared/fleet.js';
import type { TestRedis } from './redis.js';

/**
 * Writes a fleet incident's keys as ingest does (shared/keys.ts: fleet, fleetMembers, fleetPlaces,
 * fleetOpen), standing in for ingest in tests of the executor.
 */
export async function openFleet(
  t: TestRedis,
  fleet: { id: string; alertname: string; resource: string; places: FleetPlace[]; members?: string[] },
): Promise<void> {
  const { keys, redis } = t;
  const multi = redis.multi();
  multi.hset(keys.fleet(fleet.id), {
    alertname: fleet.alertname,
    resource: fleet.resource,
    status: 'open',
    openedAt: new Date().toISOString(),
  });
  if (fleet.members?.length) multi.sadd(keys.fleetMembers(fleet.id), ...fleet.members);
  for (const place of fleet.places)
    multi.hset(keys.fleetPlaces(fleet.id), `${place.target}\n${place.host}`, place.region);
  multi.hset(keys.fleetOpen(fleet.resource), fleet.alertname, fleet.id);
  await multi.exec();
}

/** Closes a fleet incident as ingest does when it resolves (without sending `fleet_closed`). */
export async function closeFleet(t: TestRedis, id: string, by?: string): Promise<void> {
  const { keys, redis } = t;
  const [alertname, resource] = await redis.hmget(keys.fleet(id), 'alertname', 'resource');
  const multi = redis.multi();
  multi.hset(keys.fleet(id), {
    status: 'closed',
    closedAt: new Date().toISOString(),
    ...(by ? { closedBy: by } : {}),
  });
  if (alertname && resource) multi.hdel(keys.fleetOpen(resource), alertname);
  await multi.exec();
}
