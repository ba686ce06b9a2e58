import { z } from 'zod';
import type { Keyspace } from '../../shared/keys.js';
import { loadLua } from '../../shared/lua.js';
import type { RedisConnection } from '../../shared/redis.js';
import { type ActionOutcome, actionOutcomeSchema } from '../../shared/schemas/jobs.js';

const CLAIM_TTL_SECONDS = 30 * 24 * 3600;

const reopenHeldScript = loadLua(new URL('./lua/reopen-held-claim-1.lua', import.meta.url));

const claimSchema = z.discriminatedUnion('state', [
  z.object({ state: z.literal('running'), at: z.string() }),
  z.object({ state: z.literal('done'), outcome: actionOutcomeSchema }),
]);
export type Claim = z.infer<typeof claimSchema>;

/**
 * Idempotency: an action id is claimed before anything is decided or run, so a retried or duplicated
 * job never runs twice. A claim left `running` means an earlier attempt died mid-run.
 */
export class ActionClaims {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
  ) {}

  /** null when this caller now owns the action; otherwise what an earlier attempt left. */
  async claim(actionId: string): Promise<Claim | null> {
    const key = this.keys.exec(`claim:${actionId}`);
    const running: Claim = { state: 'running', at: new Date().toISOString() };
    const set = await this.redis.set(key, JSON.stringify(running), 'EX', CLAIM_TTL_SECONDS, 'NX');
    if (set === 'OK') return null;
    return this.get(actionId);
  }

  async get(actionId: string): Promise<Claim | null> {
    const raw = await this.redis.get(this.keys.exec(`claim:${actionId}`));
    return raw ? claimSchema.parse(JSON.parse(raw)) : null;
  }

  /** A held change that owns a slot now may be decided again: true when its `held` claim was reopened. */
  async reopenHeld(actionId: string): Promise<boolean> {
    return (await reopenHeldScript.run(this.redis, [this.keys.exec(`claim:${actionId}`)], [])) === 1;
  }

  async finish(actionId: string, outcome: ActionOutcome): Promise<void> {
    const done: Claim = { state: 'done', outcome };
    await this.redis.set(this.keys.exec(`claim:${actionId}`), JSON.stringify(done), 'EX', CLAIM_TTL_SECONDS);
  }
}
