import type { Keyspace } from '../../shared/keys.js';
import { loadLua } from '../../shared/lua.js';
import type { RedisConnection } from '../../shared/redis.js';
import type { ToolPolicy } from './policy.js';

type ScalePolicy = NonNullable<ToolPolicy['scale']>;

export type ScaleTarget = { ok: true; replicas: number } | { ok: false; reason: string };

/** The target replica count for `{service, replicas}` or `{service, delta}`, within baseline + max. */
export function scaleTarget(
  policy: ScalePolicy,
  args: Record<string, unknown>,
  current: number | null,
): ScaleTarget {
  const service = String(args.service);
  const baseline = policy.baselines[service] ?? policy.baseline;
  const { replicas, delta } = args as { replicas?: number; delta?: number };
  if ((replicas === undefined) === (delta === undefined))
    return { ok: false, reason: 'scale_service needs exactly one of replicas or delta' };
  const target = replicas ?? (current ?? baseline) + (delta as number);
  const ceiling = baseline + policy.maxAboveBaseline;
  if (target > ceiling)
    return {
      ok: false,
      reason: `${target} replicas of ${service} is more than +${policy.maxAboveBaseline} above its baseline of ${baseline}`,
    };
  if (target < policy.minReplicas)
    return {
      ok: false,
      reason: `${target} replicas of ${service} is below the minimum of ${policy.minReplicas}`,
    };
  return { ok: true, replicas: target };
}

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
}
