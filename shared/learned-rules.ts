import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Keyspace } from './keys.js';
import { loadLua } from './lua.js';
import type { RedisConnection } from './redis.js';

const noteScript = loadLua(new URL('./lua/note-ineffective-1.lua', import.meta.url));
const makeScript = loadLua(new URL('./lua/make-learned-rule-3.lua', import.meta.url));
const clearScript = loadLua(new URL('./lua/clear-learned-rule-3.lua', import.meta.url));

/** What a learned rule is about: one fix for one alert on one resource, wherever it runs. */
export const learnedPairSchema = z.object({ alertname: z.string(), tool: z.string(), resource: z.string() });
export type LearnedPair = z.infer<typeof learnedPairSchema>;

export const learnedEvidenceSchema = z.object({
  incidentId: z.string(),
  actionId: z.string(),
  target: z.string(),
  verdict: z.literal('ineffective'),
  at: z.iso.datetime(),
});
export type LearnedEvidence = z.infer<typeof learnedEvidenceSchema>;

export const learnedRuleSchema = learnedPairSchema.extend({
  id: z.string(),
  evidence: z.array(learnedEvidenceSchema),
  madeAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
});
export type LearnedRule = z.infer<typeof learnedRuleSchema>;

export const learnedRuleIdSchema = z
  .string()
  .regex(/^lrn_[0-9a-f]{16}$/, 'a learned rule id is lrn_ and 16 hex digits');

export interface LearningSettings {
  ineffectiveToConfirm: number;
  windowSeconds: number;
  cooldownSeconds: number;
}

/** One id per pair: at most one rule is in force for it at a time. */
export function learnedRuleId(pair: LearnedPair): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([pair.alertname, pair.tool, pair.resource]))
    .digest('hex');
  return `lrn_${digest.slice(0, 16)}`;
}

/**
 * Rules the executor learned from ineffective fixes. Only the executor writes them (`exec:*`);
 * ingest lists them and asks the executor to clear one.
 */
export class LearnedRules {
  private readonly indexKey: string;
  private readonly unauditedKey: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
  ) {
    this.indexKey = keys.exec('learned');
    this.unauditedKey = keys.exec('learned:unaudited');
  }

  private ruleKey(id: string): string {
    return this.keys.exec(`learned:rule:${id}`);
  }

  private evidenceKey(id: string): string {
    return this.keys.exec(`learned:evidence:${id}`);
  }

  /** The rule in force for the pair, if any (an expired one is gone by itself). */
  async inForce(pair: LearnedPair): Promise<LearnedRule | null> {
    return this.get(learnedRuleId(pair));
  }

  /** The rule in force under this id, if any. */
  async get(id: string): Promise<LearnedRule | null> {
    return parseRule(await this.redis.get(this.ruleKey(id)));
  }

  /** Every rule in force, soonest to expire first. */
  async list(now = Date.now()): Promise<LearnedRule[]> {
    const ids = await this.redis.zrangebyscore(this.indexKey, now, '+inf');
    if (ids.length === 0) return [];
    const raw = await this.redis.mget(...ids.map((id) => this.ruleKey(id)));
    return raw.flatMap((text) => {
      const rule = parseRule(text);
      return rule ? [rule] : [];
    });
  }

  /**
   * Counts one ineffective verdict; returns the rule it made, when this one reached the threshold
   * and no rule was in force (so each rule is made, and audited, once).
   */
  async noteIneffective(
    pair: LearnedPair,
    evidence: LearnedEvidence,
    settings: LearningSettings,
    now = Date.now(),
  ): Promise<LearnedRule | null> {
    const id = learnedRuleId(pair);
    const raw = (await noteScript.run(
      this.redis,
      [this.evidenceKey(id)],
      [now, JSON.stringify(learnedEvidenceSchema.parse(evidence)), settings.windowSeconds * 1000],
    )) as string[];
    if (raw.length < settings.ineffectiveToConfirm) return null;
    const expires = now + settings.cooldownSeconds * 1000;
    const rule: LearnedRule = {
      ...pair,
      id,
      evidence: raw.map((text) => learnedEvidenceSchema.parse(JSON.parse(text))),
      madeAt: new Date(now).toISOString(),
      expiresAt: new Date(expires).toISOString(),
    };
    const made = await makeScript.run(
      this.redis,
      [this.ruleKey(id), this.indexKey, this.unauditedKey],
      [JSON.stringify(rule), settings.cooldownSeconds * 1000, id, expires],
    );
    return made === 1 ? rule : null;
  }

  /** Rules made whose audit entry may not be appended yet (cleared or expired ones included). */
  async unaudited(): Promise<LearnedRule[]> {
    return Object.values(await this.redis.hgetall(this.unauditedKey)).flatMap((text) => {
      const rule = parseRule(text);
      return rule ? [rule] : [];
    });
  }

  /** The rule's audit entry is appended. */
  async audited(id: string): Promise<void> {
    await this.redis.hdel(this.unauditedKey, id);
  }

  /** A human clears a rule: it and its evidence are forgotten. Returns the rule, or null if none was in force. */
  async clear(id: string): Promise<LearnedRule | null> {
    return parseRule(
      (await clearScript.run(this.redis, [this.ruleKey(id), this.evidenceKey(id), this.indexKey], [id])) as
        | string
        | null,
    );
  }
}

function parseRule(text: string | null): LearnedRule | null {
  if (!text) return null;
  const parsed = learnedRuleSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : null;
}
