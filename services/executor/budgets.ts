import { z } from 'zod';
import type { Keyspace } from '../../shared/keys.js';
import { loadLua } from '../../shared/lua.js';
import type { RedisConnection } from '../../shared/redis.js';
import { type ActionJob, actionJobSchema } from '../../shared/schemas/jobs.js';
import type { Budgets } from './budget-policy.js';

const takeScript = loadLua(new URL('./lua/take-budget-7.lua', import.meta.url));
const releaseScript = loadLua(new URL('./lua/release-budget-8.lua', import.meta.url));
const holdForFleetScript = loadLua(new URL('./lua/hold-for-fleet-3.lua', import.meta.url));
const dropFleetScript = loadLua(new URL('./lua/drop-fleet-held-6.lua', import.meta.url));
const claimPromotedScript = loadLua(new URL('./lua/claim-promoted-3.lua', import.meta.url));

/** Scores held changes by the incident's priority (1 first), then by when they were held. */
const PRIORITY_WEIGHT = 1e13;

/** A held change as its budget keeps it: enough to run it by itself later. */
export const heldChangeSchema = z.object({
  resource: z.string(),
  region: z.string(),
  queue: z.enum(['agent', 'human']),
  heldAt: z.number(),
  job: actionJobSchema,
  /** The fleet incident it waits for (shared/fleet.ts): it runs only once a human releases its region. */
  fleet: z.string().optional(),
});
export type HeldChange = z.infer<typeof heldChangeSchema>;

/**
 * A held change dropped, never to run, with why: moved by the script that dropped it into the dropped
 * changes not yet recorded (lua/includes/drop-held.lua), until its cancellation is recorded.
 */
export const droppedChangeSchema = z.object({
  because: z.enum(['held_too_long', 'first_region', 'fleet_closed', 'fleet_cancelled']),
  /** When it was dropped (ms). */
  at: z.number(),
  /** Who closed or cancelled its fleet incident, when known. */
  by: z.string().optional(),
  /** `first_region`: the region that went first, whose fix did not work. */
  first: z.object({ region: z.string(), actionId: z.string() }).optional(),
  change: heldChangeSchema,
});
export type DroppedChange = z.infer<typeof droppedChangeSchema>;

/** One change to a resource, where it acts, as a budget counts it. */
export interface BudgetedChange {
  job: ActionJob;
  queue: 'agent' | 'human';
  resource: string;
  region: string;
  /** The incident's priority: 1 runs first. */
  priority: number;
}

/** `fresh`: this change took the incident's slot now (so it gives it back if it does not run). */
export type BudgetTake = { ok: true; fresh: boolean } | { ok: false; reason: string };

/**
 * What a release freed: held changes that now own a slot, and ones dropped (they waited too long,
 * their fix did not work in the region that went first, or their fleet incident closed).
 */
export interface Released {
  released: boolean;
  promoted: HeldChange[];
  dropped: DroppedChange[];
}

/** The fleet incident holding a change: what its reason names. */
export interface FleetHold {
  fleetId: string;
  alertname: string;
  regions: number;
  targets: number;
}

/** What ended a change's time in flight. */
export type Verdict = 'fixed' | 'ineffective' | 'failed' | 'none';

/**
 * Change budgets per resource, shared by every executor replica: how many changes are in flight
 * (decided to run, not yet verified) per region and fleet-wide. Taken and released in one script
 * each; a slot's lease ends with the longest verification, so a killed executor never leaks one.
 */
export class ChangeBudgets {
  private readonly owners: string;
  private readonly resources: string;
  /** The dropped changes not yet recorded (hash: action id -> DroppedChange JSON). */
  private readonly dropped: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
    private readonly budgets: Budgets,
  ) {
    this.owners = keys.exec('budget:owners');
    this.resources = keys.exec('budget:resources');
    this.dropped = keys.exec('budget:dropped');
  }

  async take(change: BudgetedChange, now = Date.now()): Promise<BudgetTake> {
    const held: HeldChange = {
      resource: change.resource,
      region: change.region,
      queue: change.queue,
      heldAt: now,
      job: change.job,
    };
    const reply = (await takeScript.run(this.redis, this.keysOf(change.resource), [
      String(now),
      change.job.incidentId,
      change.region,
      String(this.budgets.leaseSeconds * 1000),
      String(this.budgets.maxInFlight),
      String(this.budgets.maxInFlightFleet),
      String(Math.max(0, Math.min(change.priority, 100)) * PRIORITY_WEIGHT + now),
      JSON.stringify(held),
      change.resource,
      change.job.tool,
      change.job.actionId,
    ])) as string[];
    if (reply[0] === 'taken') return { ok: true, fresh: reply[1] === 'new' };
    const [, budget, ...holders] = reply;
    if (budget === 'first')
      return {
        ok: false,
        reason: `held: ${change.job.tool} of ${change.resource} goes region by region; ${holders[1]} first (${holders[0]}), until it is verified fixed`,
      };
    return { ok: false, reason: heldReason(change, budget === 'region', holders, this.budgets) };
  }

  /**
   * Holds the change if a fleet incident open on its resource has not had its region released by a
   * human (atomically with that check); null when no fleet holds it. Its priority, for the order
   * held changes run in once released, is read from the incident in the same script.
   */
  async holdForFleet(change: Omit<BudgetedChange, 'priority'>, now = Date.now()): Promise<FleetHold | null> {
    const record: HeldChange = {
      resource: change.resource,
      region: change.region,
      queue: change.queue,
      heldAt: now,
      job: change.job,
    };
    const reply = (await holdForFleetScript.run(
      this.redis,
      [this.keyOf(change.resource, 'held'), this.keyOf(change.resource, 'jobs'), this.resources],
      [
        String(now),
        change.region,
        change.job.actionId,
        JSON.stringify(record),
        change.resource,
        this.keys.fleet(''),
        this.keys.exec('fleet:'),
        String(PRIORITY_WEIGHT),
        this.keys.fleetOpen(change.resource),
        this.keys.incident(change.job.incidentId),
      ],
    )) as (string | number)[];
    if (reply[0] !== 'held') return null;
    const [, fleetId, alertname, regions, targets] = reply;
    return {
      fleetId: String(fleetId),
      alertname: String(alertname),
      regions: Number(regions),
      targets: Number(targets),
    };
  }

  async fleetIsOpen(fleetId: string): Promise<boolean> {
    return (await this.redis.hget(this.keys.fleet(fleetId), 'status')) === 'open';
  }

  /** The resource a fleet incident is on (ingest's record), or null when the record is gone. */
  async fleetResource(fleetId: string): Promise<string | null> {
    return this.redis.hget(this.keys.fleet(fleetId), 'resource');
  }

  async fleetClosedBy(fleetId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.fleet(fleetId), 'closedBy')) ?? undefined;
  }

  /** Records a human's release of a region from a fleet incident; false when it was recorded already. */
  async releaseRegion(fleetId: string, region: string, now = Date.now()): Promise<boolean> {
    return (await this.redis.hsetnx(this.releasedKey(fleetId), region, String(now))) === 1;
  }

  async isReleased(fleetId: string, region: string): Promise<boolean> {
    return (await this.redis.hexists(this.releasedKey(fleetId), region)) === 1;
  }

  /** Drops every change held (or promoted, not yet run) for a fleet incident on a resource. */
  async dropFleet(
    resource: string,
    fleetId: string,
    because: 'fleet_closed' | 'fleet_cancelled',
    by: string | undefined,
    now = Date.now(),
  ): Promise<DroppedChange[]> {
    const keys = [...this.keysOf(resource).slice(0, 5), this.dropped];
    const reply = (await dropFleetScript.run(this.redis, keys, [
      fleetId,
      because,
      by ?? '',
      String(now),
    ])) as string[];
    return reply.map(parseDropped);
  }

  /** Dropped changes whose cancellation is not recorded yet, dropped at `before` (ms) or earlier. */
  async unrecorded(before: number): Promise<{ entries: DroppedChange[]; unreadable: string[] }> {
    const entries: DroppedChange[] = [];
    const unreadable: string[] = [];
    for (const [actionId, raw] of Object.entries(await this.redis.hgetall(this.dropped))) {
      const entry = droppedChangeSchema.safeParse(parseJson(raw));
      if (!entry.success) unreadable.push(actionId);
      else if (entry.data.at <= before) entries.push(entry.data);
    }
    // Never recordable, and left in place they would be read again at every sweep.
    if (unreadable.length > 0) await this.redis.hdel(this.dropped, ...unreadable);
    return { entries, unreadable };
  }

  /** A dropped change's cancellation is recorded: it leaves the ones not yet recorded. */
  async recorded(actionId: string): Promise<void> {
    await this.redis.hdel(this.dropped, actionId);
  }

  /** A resource's changes waiting (held, or promoted and not yet run), for counting. */
  async waiting(resource: string): Promise<HeldChange[]> {
    const raw = await this.redis.hvals(this.keyOf(resource, 'jobs'));
    return raw.map((entry) => heldChangeSchema.parse(JSON.parse(entry)));
  }

  /** Frees an incident's slot (a no-op for one that holds none, or was released already). */
  async release(incidentId: string, verdict: Verdict, now = Date.now()): Promise<Released> {
    const resource = await this.redis.hget(this.owners, incidentId);
    if (resource === null) return { released: false, promoted: [], dropped: [] };
    return this.releaseOn(resource, incidentId, verdict, now);
  }

  /** Frees slots whose lease ended and gives them to held changes (the periodic sweep). */
  async sweep(resource: string, now = Date.now()): Promise<Released> {
    return this.releaseOn(resource, '', 'none', now);
  }

  /** Resources with changes held, for the sweep. */
  async resourcesHolding(): Promise<string[]> {
    return this.redis.smembers(this.resources);
  }

  /**
   * A held change that now owns its slot, to run it; null when it is gone (already run, dropped).
   * One held for a fleet incident that closed since is dropped instead, never run after it closes.
   */
  async claimPromoted(
    resource: string,
    actionId: string,
    now = Date.now(),
  ): Promise<{ run: HeldChange } | { dropped: DroppedChange } | null> {
    const reply = (await claimPromotedScript.run(
      this.redis,
      [this.keyOf(resource, 'slots'), this.keyOf(resource, 'jobs'), this.dropped],
      [actionId, this.keys.fleet(''), String(now)],
    )) as ['run' | 'dropped', string] | null;
    if (!reply) return null;
    return reply[0] === 'run'
      ? { run: heldChangeSchema.parse(JSON.parse(reply[1])) }
      : { dropped: parseDropped(reply[1]) };
  }

  private async releaseOn(resource: string, slot: string, verdict: Verdict, now: number): Promise<Released> {
    const reply = (await releaseScript.run(
      this.redis,
      [...this.keysOf(resource), this.dropped],
      [
        String(now),
        slot,
        String(this.budgets.leaseSeconds * 1000),
        String(this.budgets.maxInFlight),
        String(this.budgets.maxInFlightFleet),
        String(this.budgets.holdSeconds * 1000),
        resource,
        verdict,
        this.keys.fleet(''),
        this.keys.exec('fleet:'),
        this.keys.fleetOpen(resource),
      ],
    )) as (number | string)[];
    const bar = reply.indexOf('|');
    return {
      released: reply[0] === 1,
      promoted: reply.slice(1, bar).map((raw) => heldChangeSchema.parse(JSON.parse(String(raw)))),
      dropped: reply.slice(bar + 1).map((raw) => parseDropped(String(raw))),
    };
  }

  private keysOf(resource: string): string[] {
    return [
      this.keyOf(resource, 'slots'),
      this.keyOf(resource, 'regions'),
      this.keyOf(resource, 'held'),
      this.keyOf(resource, 'jobs'),
      this.owners,
      this.resources,
      this.keyOf(resource, 'first'),
    ];
  }

  private releasedKey(fleetId: string): string {
    return this.keys.exec(`fleet:${fleetId}:released`);
  }

  private keyOf(resource: string, part: string): string {
    return this.keys.exec(`budget:${encodeURIComponent(resource)}:${part}`);
  }
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function parseDropped(raw: string): DroppedChange {
  return droppedChangeSchema.parse(JSON.parse(raw));
}

/** "held: 1 change to api-gateway in eu-west is already in flight (act_1)". */
function heldReason(change: BudgetedChange, regional: boolean, holders: string[], budgets: Budgets): string {
  const count = `${holders.length} change${holders.length === 1 ? '' : 's'}`;
  const where = regional ? ` in ${change.region}` : ' across the fleet';
  const limit = regional
    ? `budgets.maxInFlight: ${budgets.maxInFlight}`
    : `budgets.maxInFlightFleet: ${budgets.maxInFlightFleet}`;
  return `held: ${count} to ${change.resource}${where} already in flight (${holders.join(', ')}; ${limit}); runs by itself when a slot frees`;
}
