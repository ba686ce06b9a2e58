import type { Keyspace } from '../../shared/keys.js';
import type { RedisConnection } from '../../shared/redis.js';
import { type NotificationJob, notificationJobSchema } from '../../shared/schemas/jobs.js';

/**
 * KEYS: breaker hash, failures sorted set. ARGV: now ms, action id, cooldown ms.
 * closed → 'closed'; open before the cooldown → 'open'; after it the breaker half-opens and lets one
 * probe through at a time (a stuck probe is replaced after another cooldown).
 */
const CHECK_LUA = `
local now = tonumber(ARGV[1])
local b = redis.call('HMGET', KEYS[1], 'state', 'reopenAt', 'probe', 'probeAt')
local state = b[1] or 'closed'
if state == 'closed' then return {'closed', ''} end
if state == 'open' then
  if now < tonumber(b[2]) then return {'open', b[2]} end
  redis.call('HSET', KEYS[1], 'state', 'half_open')
  b[3] = false
end
if b[3] and b[3] ~= ARGV[2] and now - tonumber(b[4]) < tonumber(ARGV[3]) then return {'half_open_busy', b[3]} end
redis.call('HSET', KEYS[1], 'probe', ARGV[2], 'probeAt', ARGV[1])
return {'probe', ''}
`;

/**
 * KEYS: breaker hash, failures sorted set, outbox. ARGV: now ms, member, window ms, threshold,
 * cooldown ms, then the notice to record if this failure opens the breaker: its eventId ('' = none)
 * and its job JSON, whose text's {failures} and details.failures get the count.
 * Returns {'opened', count} when this failure opened the breaker, else {state, count}.
 */
const FAILURE_LUA = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('PEXPIRE', KEYS[2], window)
local count = redis.call('ZCARD', KEYS[2])
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'half_open' or (state == 'closed' and count >= tonumber(ARGV[4])) then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'state', 'open', 'openedAt', ARGV[1], 'reopenAt', now + tonumber(ARGV[5]))
  if ARGV[6] ~= '' then
    local job = cjson.decode(ARGV[7])
    job.text = string.gsub(job.text, '{failures}', tostring(count))
    if type(job.details) == 'table' then job.details.failures = count end
    redis.call('HSET', KEYS[3], ARGV[6], cjson.encode({ recordedMs = now, job = job }))
  end
  return {'opened', count}
end
return {state, count}
`;

/** KEYS: breaker hash, failures. A success closes a half-open breaker and forgets old failures. */
const SUCCESS_LUA = `
if redis.call('HGET', KEYS[1], 'state') ~= 'half_open' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`;

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

  async check(actionId: string, now = Date.now()): Promise<BreakerCheck> {
    const [state, detail] = (await this.redis.eval(
      CHECK_LUA,
      2,
      this.stateKey,
      this.failuresKey,
      String(now),
      actionId,
      String(this.settings.cooldownSeconds * 1000),
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
   * `notice` (with `{failures}` in its text) is recorded in the outbox in the same script.
   */
  async recordFailure(
    member: string,
    now = Date.now(),
    notice?: NotificationJob,
  ): Promise<{ opened: boolean; failures: number }> {
    const [state, count] = (await this.redis.eval(
      FAILURE_LUA,
      3,
      this.stateKey,
      this.failuresKey,
      this.outboxKey,
      String(now),
      member,
      String(this.settings.windowSeconds * 1000),
      String(this.settings.failureThreshold),
      String(this.settings.cooldownSeconds * 1000),
      notice?.eventId ?? '',
      notice ? JSON.stringify(notificationJobSchema.parse(notice)) : '',
    )) as [string, number];
    return { opened: state === 'opened', failures: count };
  }

  async recordSuccess(): Promise<void> {
    await this.redis.eval(SUCCESS_LUA, 2, this.stateKey, this.failuresKey);
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
