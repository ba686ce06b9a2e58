import type { Keyspace } from '../../shared/keys.js';
import { loadLua } from '../../shared/lua.js';
import type { BreakerOpening } from '../../shared/notices.js';
import type { RedisConnection } from '../../shared/redis.js';
import { type NotificationJob, notificationJobSchema } from '../../shared/schemas/jobs.js';

const checkScript = loadLua(new URL('./lua/breaker-check-2.lua', import.meta.url));

const failureScript = loadLua(new URL('./lua/breaker-failure-3.lua', import.meta.url));

const successScript = loadLua(new URL('./lua/breaker-success-2.lua', import.meta.url));

export interface BreakerSettings {
  failureThreshold: number;
  windowSeconds: number;
  cooldownSeconds: number;
}

export type BreakerCheck = { allowed: true } | { allowed: false; reason: string };

/** The circuit breaker, held in Redis so every executor replica shares it. */
export class CircuitBreaker {
  private readonly stateKey: string;
  private readonly failuresKey: string;
  private readonly outboxKey: string;

  constructor(
    private readonly redis: RedisConnection,
    keys: Keyspace,
    private readonly settings: BreakerSettings,
  ) {
    this.stateKey = keys.exec('breaker');
    this.failuresKey = keys.exec('breaker:failures');
    this.outboxKey = keys.outbox('executor');
  }

  /**
   * Closed right now: a plain read, asked with other reads. A closed breaker has nothing to claim, so
   * a decision that saw it closed need not run `check`; one that did not runs it (a half-open
   * breaker's probe is claimed there).
   */
  async closed(): Promise<boolean> {
    return ((await this.redis.hget(this.stateKey, 'state')) ?? 'closed') === 'closed';
  }

  async check(actionId: string, now = Date.now()): Promise<BreakerCheck> {
    const [state, detail] = (await checkScript.run(
      this.redis,
      [this.stateKey, this.failuresKey],
      [String(now), actionId, String(this.settings.cooldownSeconds * 1000)],
    )) as [string, string];
    if (state === 'closed' || state === 'probe') return { allowed: true };
    if (state === 'open')
      return {
        allowed: false,
        reason: `circuit breaker open after repeated failures (until ${new Date(Number(detail)).toISOString()})`,
      };
    return { allowed: false, reason: `circuit breaker half-open: probe ${detail} is in progress` };
  }

  /**
   * Counts a failed or ineffective action; returns whether this one opened the breaker. If it did,
   * the notice `announce` words for how it opened is recorded in the outbox in the same script
   * (both have the same event id).
   */
  async recordFailure(
    member: string,
    now = Date.now(),
    announce?: (opening: BreakerOpening) => NotificationJob,
  ): Promise<{ opened: boolean; failures: number }> {
    const openings: BreakerOpening[] = [
      { kind: 'threshold', failures: this.settings.failureThreshold },
      { kind: 'probe_failed' },
    ];
    const [atThreshold, probeFailed] = announce
      ? openings.map((opening) => notificationJobSchema.parse(announce(opening)))
      : [];
    const [state, count] = (await failureScript.run(
      this.redis,
      [this.stateKey, this.failuresKey, this.outboxKey],
      [
        String(now),
        member,
        String(this.settings.windowSeconds * 1000),
        String(this.settings.failureThreshold),
        String(this.settings.cooldownSeconds * 1000),
        atThreshold?.eventId ?? '',
        atThreshold ? JSON.stringify(atThreshold) : '',
        probeFailed ? JSON.stringify(probeFailed) : '',
      ],
    )) as [string, number];
    return { opened: state === 'opened', failures: count };
  }

  async recordSuccess(): Promise<void> {
    await successScript.run(this.redis, [this.stateKey, this.failuresKey], []);
  }

  /** A human closes the breaker: its state and its counted failures are forgotten. */
  async reset(): Promise<{ was: string }> {
    const was = (await this.redis.hget(this.stateKey, 'state')) ?? 'closed';
    await this.redis.del(this.stateKey, this.failuresKey);
    return { was };
  }

  async state(): Promise<{ state: string; openedAt?: number }> {
    const raw = await this.redis.hgetall(this.stateKey);
    return { state: raw.state ?? 'closed', ...(raw.openedAt ? { openedAt: Number(raw.openedAt) } : {}) };
  }
}
