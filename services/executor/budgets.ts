import { z } from 'zod';
import type { Keyspace } from '../../shared/keys.js';
import { loadLua } from '../../shared/lua.js';
import type { RedisConnection } from '../../shared/redis.js';
import { type ActionJob, actionJobSchema } from '../../shared/schemas/jobs.js';
import type { Budgets } from './budget-policy.js';

const takeScript = loadLua(new URL('./lua/take-budget-7.lua', import.meta.url));
const releaseScript = loadLua(new URL('./lua/release-budget-7.lua', import.meta.url));

/** Scores held changes by the incident's priority (1 first), then by when they were held. */
const PRIORITY_WEIGHT = 1e13;

/** A held change as its budget keeps it: enough to run it by itself later. */
export const heldChangeSchema = z.object({
  resource: z.string(),
  region: z.string(),
  queue: z.enum(['agent', 'human']),
  heldAt: z.number(),
  job: actionJobSchema,
  /** On a cancelled one: the region that went first, whose fix did not work. */
  first: z.object({ region: z.string(), actionId: z.string() }).optional(),
});
export type HeldChange = z.infer<typeof heldChangeSchema>;

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

/** What a release freed: held changes that now own a slot, ones that waited too long, ones stopped. */
export interface Released {
  released: boolean;
  promoted: HeldChange[];
  expired: HeldChange[];
  /** The same fix held in other regions, after the region going first did not fix it. */
  cancelled: HeldChange[];
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

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
    private readonly budgets: Budgets,
  ) {
    this.owners = keys.exec('budget:owners');
    this.resources = keys.exec('budget:resources');
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

  /** Frees an incident's slot (a no-op for one that holds none, or was released already). */
  async release(incidentId: string, verdict: Verdict, now = Date.now()): Promise<Released> {
    const resource = await this.redis.hget(this.owners, incidentId);
    if (resource === null) return { released: false, promoted: [], expired: [], cancelled: [] };
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

  /** A held change that now owns its slot, to run it; null when it is gone (already run, dropped). */
  async claimPromoted(resource: string, actionId: string): Promise<HeldChange | null> {
    const raw = await this.redis.hget(this.keyOf(resource, 'jobs'), actionId);
    if (raw === null) return null;
    const held = heldChangeSchema.parse(JSON.parse(raw));
    if ((await this.redis.zscore(this.keyOf(resource, 'slots'), held.job.incidentId)) === null) return null;
    const removed = await this.redis.hdel(this.keyOf(resource, 'jobs'), actionId);
    return removed === 1 ? held : null;
  }

  private async releaseOn(resource: string, slot: string, verdict: Verdict, now: number): Promise<Released> {
    const reply = (await releaseScript.run(this.redis, this.keysOf(resource), [
      String(now),
      slot,
      String(this.budgets.leaseSeconds * 1000),
      String(this.budgets.maxInFlight),
      String(this.budgets.maxInFlightFleet),
      String(this.budgets.holdSeconds * 1000),
      resource,
      verdict,
    ])) as (number | string)[];
    const first = reply.indexOf('|');
    const second = reply.indexOf('|', first + 1);
    const parse = (raw: number | string) => heldChangeSchema.parse(JSON.parse(String(raw)));
    return {
      released: reply[0] === 1,
      promoted: reply.slice(1, first).map(parse),
      expired: reply.slice(first + 1, second).map(parse),
      cancelled: reply.slice(second + 1).map(parse),
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

  private keyOf(resource: string, part: string): string {
    return this.keys.exec(`budget:${encodeURIComponent(resource)}:${part}`);
  }
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
