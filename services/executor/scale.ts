import type { Keyspace } from '../../shared/keys.js';
import { loadLua } from '../../shared/lua.js';
import type { RedisConnection } from '../../shared/redis.js';
import type { ToolPolicy } from './policy.js';

type ScalePolicy = NonNullable<ToolPolicy['scale']>;

export type ScaleTarget = { ok: true; replicas: number } | { ok: false; reason: string };

/** What a scale request starts from and may not exceed by more than `maxAboveBaseline`. */
export interface ScaleStart {
  /** What it runs now: a delta applies to this. */
  current: number;
  baseline: number;
  /** "its baseline of 2", "the 10 it ran when this incident first asked to scale it". */
  baselineText: string;
  /** "api", "deployment shop/checkout". */
  what: string;
}

/** Where a service scaled through a `local` backend starts: the count last set, else the policy's baseline. */
export function policyStart(policy: ScalePolicy, service: string, lastSet: number | null): ScaleStart {
  const baseline = policy.baselines[service] ?? policy.baseline;
  return {
    current: lastSet ?? baseline,
    baseline,
    baselineText: `its baseline of ${baseline}`,
    what: service,
  };
}

/** The target replica count for `{replicas}` or `{delta}`, within baseline + maxAboveBaseline and the minimum. */
export function scaleTarget(
  policy: ScalePolicy,
  args: Record<string, unknown>,
  start: ScaleStart,
): ScaleTarget {
  const { replicas, delta } = args as { replicas?: number; delta?: number };
  if ((replicas === undefined) === (delta === undefined))
    return { ok: false, reason: 'scale_service needs exactly one of replicas or delta' };
  const target = replicas ?? start.current + (delta as number);
  if (target > start.baseline + policy.maxAboveBaseline)
    return {
      ok: false,
      reason: `${target} replicas of ${start.what} is more than +${policy.maxAboveBaseline} above ${start.baselineText}`,
    };
  if (target < policy.minReplicas)
    return {
      ok: false,
      reason: `${target} replicas of ${start.what} is below the minimum of ${policy.minReplicas}`,
    };
  return { ok: true, replicas: target };
}

/** Long after any incident is closed. */
const SEEN_TTL_SECONDS = 30 * 86_400;
/** Longer than any scale command may run (a holder that died frees it after this). */
const LOCK_TTL_MS = 5 * 60_000;
const LOCK_POLL_MS = 50;

const releaseScript = loadLua(new URL('./lua/release-lock-1.lua', import.meta.url));

/** Replica counts the executor last set, per service (a delta is applied to these). */
export class ReplicaCounts {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
  ) {}

  /**
   * Runs `work` while no other scale action of `service` (on any executor replica) is between reading
   * the count and writing it back: two concurrent deltas then apply one after the other. Returns
   * undefined if the service stayed locked longer than a scale command may run.
   */
  async exclusive<T>(service: string, owner: string, work: () => Promise<T>): Promise<T | undefined> {
    const key = this.keys.exec(`replicas:lock:${service}`);
    const deadline = Date.now() + LOCK_TTL_MS;
    while ((await this.redis.set(key, owner, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
      if (Date.now() > deadline) return undefined;
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
    try {
      return await work();
    } finally {
      await releaseScript.run(this.redis, [key], [owner]);
    }
  }

  async get(service: string): Promise<number | null> {
    const raw = await this.redis.hget(this.keys.exec('replicas'), service);
    return raw === null ? null : Number(raw);
  }

  async set(service: string, replicas: number): Promise<void> {
    await this.redis.hset(this.keys.exec('replicas'), service, String(replicas));
  }

  /**
   * The replica count a workload ran with when this incident first looked at it (recorded now if
   * this is the first look): the incident's bound is measured from there, not from a fixed number.
   */
  async firstSeen(incidentId: string, workload: string, live: number): Promise<number> {
    const key = this.keys.exec(`replicas:seen:${incidentId}`);
    await this.redis.hsetnx(key, workload, String(live));
    await this.redis.expire(key, SEEN_TTL_SECONDS);
    return Number(await this.redis.hget(key, workload));
  }
}
