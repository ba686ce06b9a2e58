import { z } from 'zod';
import type { Keyspace } from './keys.js';
import { loadLua } from './lua.js';
import type { RedisConnection } from './redis.js';

const recordScript = loadLua(new URL('./lua/record-outcome-3.lua', import.meta.url));

/** What came of one fix: verified `fixed` or `ineffective`, `failed` or `unknown` when run, `none` when nothing ran. */
export const verdictSchema = z.enum(['fixed', 'ineffective', 'failed', 'unknown', 'none']);
export type Verdict = z.infer<typeof verdictSchema>;

/** What every outcome is kept per: the alert, the thing acted on, where, and with which tool. */
export const outcomeSubjectSchema = z.object({
  alertname: z.string(),
  resource: z.string(),
  target: z.string(),
  tool: z.string(),
});
export type OutcomeSubject = z.infer<typeof outcomeSubjectSchema>;

export const outcomeSchema = outcomeSubjectSchema.extend({
  incidentId: z.string(),
  actionId: z.string(),
  verdict: verdictSchema,
  /** When the incident's alert arrived, and when the verdict was reached. */
  alertAt: z.iso.datetime(),
  at: z.iso.datetime(),
  /** Seconds from the alert to the verdict. */
  seconds: z.number().min(0),
  detail: z.string().max(500).optional(),
  /** Who approved the fix, when a human did (records from before this field have none). */
  approvedBy: z.string().max(200).optional(),
});
export type Outcome = z.infer<typeof outcomeSchema>;

/** An executed fix waiting for its verdict. */
export const pendingOutcomeSchema = outcomeSubjectSchema.extend({
  incidentId: z.string(),
  alertAt: z.iso.datetime(),
  approvedBy: z.string().max(200).optional(),
});
export type PendingOutcome = z.infer<typeof pendingOutcomeSchema>;

const placeSchema = z.tuple([z.string(), z.string()]);

export const outcomeFilterSchema = outcomeSubjectSchema.partial();
export type OutcomeFilter = z.infer<typeof outcomeFilterSchema>;

export const DEFAULT_OUTCOMES_MAX_AGE_DAYS = 90;
export const OUTCOMES_PER_KEY = 200;
const DAY_MS = 86_400_000;

/** The key id of a subject: its four parts, each escaped, so no part can imitate another. */
export function subjectId(subject: OutcomeSubject): string {
  return [subject.alertname, subject.resource, subject.target, subject.tool]
    .map(encodeURIComponent)
    .join('|');
}

function subjectOf(id: string): OutcomeSubject | null {
  const parts = id.split('|').map(decodeURIComponent);
  if (parts.length !== 4) return null;
  const [alertname = '', resource = '', target = '', tool = ''] = parts;
  return { alertname, resource, target, tool };
}

/**
 * Verdicts of fixes, per (alertname, resource, target, tool), bounded in age and count. Only the
 * executor writes them (`exec:*` in the Redis ACL); ingest and triage read them.
 */
export class OutcomeStore {
  private readonly indexKey: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
    private readonly maxAgeDays = DEFAULT_OUTCOMES_MAX_AGE_DAYS,
    private readonly perKey = OUTCOMES_PER_KEY,
  ) {
    this.indexKey = keys.exec('outcomes');
  }

  private key(id: string): string {
    return this.keys.exec(`outcomes:${id}`);
  }

  /**
   * Keeps a verdict. `consuming`: the action id of an executed fix whose pending subject (holdSubject)
   * this verdict settles, removed in the same script; false when it was settled already (kept once).
   */
  async record(outcome: Outcome, consuming?: string): Promise<boolean> {
    const entry = outcomeSchema.parse(outcome);
    const id = subjectId(entry);
    const kept = await recordScript.run(
      this.redis,
      [this.key(id), this.indexKey, this.pendingKey(consuming ?? '')],
      [
        Date.parse(entry.at),
        JSON.stringify(entry),
        this.maxAgeDays * DAY_MS,
        this.perKey,
        id,
        consuming === undefined ? '' : '1',
      ],
    );
    return kept !== -1;
  }

  private pendingKey(actionId: string): string {
    return this.keys.exec(`outcomes:pending:${actionId}`);
  }

  /** Remembers what an executed fix acts on until its verdict arrives (or the age bound passes). */
  async holdSubject(actionId: string, pending: PendingOutcome): Promise<void> {
    await this.redis.set(this.pendingKey(actionId), JSON.stringify(pending), 'PX', this.maxAgeDays * DAY_MS);
  }

  /** What an executed fix acts on, until its verdict is recorded (`record` with `consuming`). */
  async subject(actionId: string): Promise<PendingOutcome | null> {
    const text = await this.redis.get(this.pendingKey(actionId));
    if (!text) return null;
    const parsed = pendingOutcomeSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  }

  /** Notes that an incident's fix acts on this subject: what its history is looked up by. */
  async notePlace(incidentId: string, subject: OutcomeSubject): Promise<void> {
    const key = this.keys.exec(`outcomes:incident:${incidentId}`);
    await this.redis
      .multi()
      .sadd(key, JSON.stringify([subject.target, subject.resource]))
      .pexpire(key, this.maxAgeDays * DAY_MS)
      .exec();
  }

  /** The (target, resource) pairs an incident's fixes acted on or would have. */
  async placesOf(incidentId: string): Promise<{ target: string; resource: string }[]> {
    const raw = await this.redis.smembers(this.keys.exec(`outcomes:incident:${incidentId}`));
    return raw.flatMap((text) => {
      const parsed = placeSchema.safeParse(JSON.parse(text));
      return parsed.success ? [{ target: parsed.data[0], resource: parsed.data[1] }] : [];
    });
  }

  /** One subject's verdicts since `since` (ms), oldest first. */
  async of(subject: OutcomeSubject, since = 0): Promise<Outcome[]> {
    return parseAll(await this.redis.zrangebyscore(this.key(subjectId(subject)), since, '+inf'));
  }

  /** Every verdict whose subject matches the filter, within the age bound, oldest first. */
  async list(filter: OutcomeFilter, now = Date.now()): Promise<Outcome[]> {
    const since = now - this.maxAgeDays * DAY_MS;
    const ids = (await this.redis.zrangebyscore(this.indexKey, since, '+inf')).filter((id) => {
      const subject = subjectOf(id);
      return (
        subject !== null &&
        (Object.keys(filter) as (keyof OutcomeFilter)[]).every(
          (name) => filter[name] === undefined || filter[name] === subject[name],
        )
      );
    });
    const lists = await Promise.all(
      ids.map(async (id) => parseAll(await this.redis.zrangebyscore(this.key(id), since, '+inf'))),
    );
    return lists.flat().sort((a, b) => a.at.localeCompare(b.at));
  }
}

function parseAll(raw: string[]): Outcome[] {
  return raw.flatMap((text) => {
    const parsed = outcomeSchema.safeParse(JSON.parse(text));
    return parsed.success ? [parsed.data] : [];
  });
}

/** Totals per verdict and the median seconds from alert to a verified fix (null without one). */
export function summarize(outcomes: readonly Outcome[]) {
  const totals = Object.fromEntries(verdictSchema.options.map((verdict) => [verdict, 0])) as Record<
    Verdict,
    number
  >;
  for (const outcome of outcomes) totals[outcome.verdict]++;
  const recovered = outcomes
    .filter((outcome) => outcome.verdict === 'fixed')
    .map((outcome) => outcome.seconds)
    .sort((a, b) => a - b);
  const middle = Math.floor(recovered.length / 2);
  const median =
    recovered.length === 0
      ? null
      : recovered.length % 2 === 1
        ? (recovered[middle] ?? null)
        : ((recovered[middle - 1] ?? 0) + (recovered[middle] ?? 0)) / 2;
  return { total: outcomes.length, totals, medianSecondsToRecover: median };
}

/**
 * An incident's history: the verdicts of other incidents on the targets and resources its own fixes
 * acted on (or `also`: where its alerts place it), newest first, at most `limit`.
 */
export async function incidentHistory(
  store: OutcomeStore,
  incidentId: string,
  also: readonly { target: string; resource: string }[] = [],
  limit = 20,
): Promise<Outcome[]> {
  const places = new Map(
    [...(await store.placesOf(incidentId)), ...also].map((place) => [
      JSON.stringify([place.target, place.resource]),
      place,
    ]),
  );
  const lists = await Promise.all([...places.values()].map((place) => store.list(place)));
  return lists
    .flat()
    .filter((outcome) => outcome.incidentId !== incidentId)
    .sort((a, b) => b.at.localeCompare(a.at))
    .slice(0, limit);
}
