import { type Job, Worker } from 'bullmq';
import type { FleetPlace } from '../../shared/fleet.js';
import { QUEUE } from '../../shared/queues.js';
import { type TestAlert, webhookBody } from './incidents.js';
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

/**
 * Stands in for the executor's half of fleet incidents (on another branch): keeps each job it is
 * asked in `asked` and answers with `answer`.
 */
export function fakeFleetExecutor(t: TestRedis, asked: Job[], answer: (job: Job) => unknown): Worker {
  return new Worker(
    QUEUE.actions,
    async (job) => {
      asked.push(job);
      return answer(job);
    },
    { connection: t.redis.duplicate(), prefix: t.keys.bullPrefix },
  );
}

/**
 * ServiceDown on api-gateway in each of `regions` (instance api-server-0<i>) through ingest's
 * webhook (each alert with `extra` on top): the member incidents and the fleet incident ingest opened for them.
 */
export async function fireFleet(
  t: TestRedis,
  ingestUrl: string,
  regions: string[],
  extra: Partial<TestAlert> = {},
): Promise<{ members: string[]; fleetId: string }> {
  const alerts = regions.map((region, i) => ({
    alertname: 'ServiceDown',
    instance: `api-server-0${i}:9100`,
    service: 'api-gateway',
    labels: { region },
    ...extra,
  }));
  // Posted here, not with ingest's test harness: executor tests use this file and import no ingest code.
  const reply = await fetch(`${ingestUrl}/webhooks/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(webhookBody(alerts)),
  });
  const { incidents: members } = (await reply.json()) as { incidents: string[] };
  const fleetId = (await t.redis.hget(t.keys.fleetOpen('api-gateway'), 'ServiceDown')) as string;
  return { members, fleetId };
}
