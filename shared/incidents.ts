import { type FleetSummary, fleetSummarySchema } from './fleet.js';
import type { PrefixMatch } from './id-prefix.js';
import { IssuedIds } from './issued-ids.js';
import { type Keyspace, scriptKeyLayout } from './keys.js';
import { loadLua } from './lua.js';
import { outboxEntry } from './outbox.js';
import type { NoticeSource } from './queues.js';
import type { RedisConnection } from './redis.js';
import {
  type ActionRecord,
  actionRecordSchema,
  CLOSED_STATUSES,
  type Incident,
  type IncidentStatus,
  type IncidentSummary,
  incidentStatusSchema,
  type Level,
  levelSchema,
  type NewTimelineEntry,
  type TimelineEntry,
  timelineEntrySchema,
  type VerificationState,
  verificationStateSchema,
} from './schemas/incident.js';
import type { NotificationJob } from './schemas/jobs.js';
import { storedAlertSchema } from './schemas/stored-alert.js';

/** Whether `setStatus` moved the incident (and so recorded its notice): it returned another status. */
export function statusChanged(previous: IncidentStatus | null, status: IncidentStatus): boolean {
  return previous !== null && previous !== status;
}

/** Statuses a human can take ownership of (acknowledge): everything not closed. */
export const OWNABLE_STATUSES: readonly IncidentStatus[] = incidentStatusSchema.options.filter(
  (status) => !CLOSED_STATUSES.includes(status),
);

const setStatusScript = loadLua(new URL('./lua/set-status-2.lua', import.meta.url));

const recordDecisionScript = loadLua(new URL('./lua/record-decision-3.lua', import.meta.url));

export interface ListOptions {
  status?: IncidentStatus | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** Reads and updates incidents. Creation and alert attachment belong to ingest's batch script. */
export class IncidentStore {
  private readonly layout: string;
  private readonly issued: IssuedIds;

  constructor(
    readonly redis: RedisConnection,
    readonly keys: Keyspace,
  ) {
    this.layout = JSON.stringify(scriptKeyLayout(keys));
    this.issued = new IssuedIds(redis, keys.incidentIds, (id) => this.exists(id));
  }

  async exists(id: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.incident(id))) === 1;
  }

  /** An incident id, or a prefix of one unique among every incident ever opened (closed ones included). */
  async resolveId(idOrPrefix: string): Promise<PrefixMatch> {
    return this.issued.resolve(idOrPrefix);
  }

  /** Incidents opened before the id index existed join it (at ingest's start; a no-op once they have). */
  async indexEarlierIds(): Promise<void> {
    const [indexed, opened] = await Promise.all([
      this.redis.zcard(this.keys.incidentIds),
      this.redis.zcard(this.keys.incidentIndex),
    ]);
    if (indexed >= opened) return;
    for (let start = 0; ; start += 1_000) {
      const ids = await this.redis.zrange(this.keys.incidentIndex, start, start + 999);
      if (ids.length === 0) return;
      await this.issued.include(ids);
    }
  }

  /** Each id's shortest prefix unique among every incident ever opened. */
  async shortIds(ids: readonly string[]): Promise<Map<string, string>> {
    return this.issued.shortIds(ids);
  }

  /** The level written at ingest; the executor's only source of truth for it. */
  async getLevel(id: string): Promise<Level | null> {
    const raw = await this.redis.hget(this.keys.incident(id), 'level');
    if (raw === null) return null;
    const parsed = levelSchema.safeParse(Number(raw));
    return parsed.success ? parsed.data : null;
  }

  async getStatus(id: string): Promise<IncidentStatus | null> {
    const raw = await this.redis.hget(this.keys.incidentState(id), 'status');
    const parsed = incidentStatusSchema.safeParse(raw);
    return parsed.success ? parsed.data : null;
  }

  async getSummary(id: string): Promise<IncidentSummary | null> {
    const [core, state] = await Promise.all([
      this.redis.hgetall(this.keys.incident(id)),
      this.redis.hgetall(this.keys.incidentState(id)),
    ]);
    if (!core.level) return null;
    return toSummary(id, core, state);
  }

  async get(id: string): Promise<Incident | null> {
    const k = this.keys;
    const results = await this.redis
      .multi()
      .hgetall(k.incident(id))
      .hgetall(k.incidentState(id))
      .lrange(k.incidentTimeline(id), 0, -1)
      .hgetall(k.incidentActions(id))
      .hkeys(k.incidentAlerts(id))
      .hgetall(k.fleet(id))
      .smembers(k.fleetMembers(id))
      .hgetall(k.fleetPlaces(id))
      .exec();
    if (!results) return null;
    const [core, state, timeline, actions, fingerprints, fleet, members, places] = results.map(
      ([error, value]) => {
        if (error) throw error;
        return value;
      },
    ) as [
      Record<string, string>,
      Record<string, string>,
      string[],
      Record<string, string>,
      string[],
      Record<string, string>,
      string[],
      Record<string, string>,
    ];
    if (!core.level) return null;
    const summary = fleetSummary(fleet, members, places);
    return {
      ...toSummary(id, core, state),
      ...(summary ? { fleet: summary } : {}),
      fingerprints,
      timeline: timeline.map(parseTimelineEntry),
      actions: Object.values(actions)
        .map((raw) => actionRecordSchema.parse(JSON.parse(raw)))
        .sort((a, b) => a.at.localeCompare(b.at)),
    };
  }

  /**
   * Status and labels of the alerts the incident holds (at most `limit`, in no particular order):
   * what its scope and per-alert verification are derived from. An unreadable entry is skipped.
   */
  async storedAlerts(
    id: string,
    limit = 1_000,
  ): Promise<{ status: string; labels: Record<string, string> }[]> {
    const out: { status: string; labels: Record<string, string> }[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.keys.incidentAlerts(id), cursor, 'COUNT', 200);
      cursor = next;
      for (let i = 1; i < flat.length && out.length < limit; i += 2) {
        const parsed = storedAlertSchema.safeParse(safeJson(flat[i] as string));
        if (parsed.success) out.push({ status: parsed.data[0], labels: parsed.data[4] });
      }
    } while (cursor !== '0' && out.length < limit);
    return out;
  }

  /** The job that will re-check the incident's fix next (so a sweep can tell it is not stuck). */
  async setVerifyJob(id: string, jobId: string): Promise<void> {
    await this.redis.hset(this.keys.incidentState(id), 'verifyJob', jobId);
  }

  /** What a `verifying` incident shows about its re-checks; read only while it is `verifying`. */
  async setVerification(id: string, verification: VerificationState): Promise<void> {
    await this.redis.hset(this.keys.incidentState(id), 'verification', JSON.stringify(verification));
  }

  async getVerifyJob(id: string): Promise<string | null> {
    return this.redis.hget(this.keys.incidentState(id), 'verifyJob');
  }

  /** The incident's timeline alone (empty when there is none). */
  async timeline(id: string): Promise<TimelineEntry[]> {
    return (await this.redis.lrange(this.keys.incidentTimeline(id), 0, -1)).map(parseTimelineEntry);
  }

  /** Newest first. The cursor is opaque to callers: `<createdMs>:<id>` of the last item returned. */
  async list(options: ListOptions): Promise<{ incidents: IncidentSummary[]; nextCursor: string | null }> {
    const index = options.status ? this.keys.incidentStatusIndex(options.status) : this.keys.incidentIndex;
    const raw = await this.pageAfter(index, options.cursor, options.limit + 1);
    const entries: { id: string; score: string }[] = [];
    for (let i = 0; i < raw.length; i += 2)
      entries.push({ id: raw[i] as string, score: raw[i + 1] as string });
    const page = entries.slice(0, options.limit);
    const hasMore = entries.length > options.limit;
    const summaries = await Promise.all(page.map((entry) => this.getSummary(entry.id)));
    const last = page.at(-1);
    return {
      incidents: summaries.filter((s): s is IncidentSummary => s !== null),
      nextCursor: hasMore && last ? `${last.score}:${last.id}` : null,
    };
  }

  /**
   * `count` index entries (id, score, …) newest first, after the cursor's entry. A batch opens many
   * incidents in one millisecond, so the cursor's place is found by its rank, not its score (ties
   * are ordered by id); a cursor whose incident left the index goes on from its score.
   */
  private async pageAfter(index: string, cursor: string | undefined, count: number): Promise<string[]> {
    if (!cursor) return this.redis.zrevrange(index, 0, count - 1, 'WITHSCORES');
    const [score = '+inf', id = ''] = cursor.split(':');
    const rank = await this.redis.zrevrank(index, id);
    if (rank !== null) return this.redis.zrevrange(index, rank + 1, rank + count, 'WITHSCORES');
    return this.redis.zrevrangebyscore(index, `(${score}`, '-inf', 'WITHSCORES', 'LIMIT', 0, count);
  }

  async appendTimeline(id: string, entry: NewTimelineEntry): Promise<TimelineEntry> {
    const now = new Date().toISOString();
    const full = timelineEntrySchema.parse({ ...entry, at: entry.at ?? now });
    await this.redis
      .multi()
      .rpush(this.keys.incidentTimeline(id), JSON.stringify(full))
      .hset(this.keys.incidentState(id), 'updatedAt', now)
      .exec();
    return full;
  }

  /**
   * Moves the incident to `status` (indexes and a timeline entry, atomically).
   * With `from`, only when the current status is one of them. Returns the previous status,
   * or null when the incident does not exist or the guard refused.
   * With `notice`, the notification announcing the change is recorded in the outbox in the same
   * script, if the status changed (see `statusChanged`); the caller then delivers it.
   * With `acknowledgedBy`, that human owns the incident from now on: recorded with the change, and
   * its timeline entry and notice are recorded even if the status was already `status`.
   */
  async setStatus(
    id: string,
    status: IncidentStatus,
    by: string,
    options: {
      from?: readonly IncidentStatus[];
      message?: string;
      summary?: string;
      /** Recorded in `source`'s outbox. */
      notice?: { source: NoticeSource; job: NotificationJob };
      acknowledgedBy?: string;
    } = {},
  ): Promise<IncidentStatus | null> {
    const now = new Date();
    const entry: TimelineEntry = {
      at: now.toISOString(),
      type: 'status',
      by,
      status,
      message: options.message,
    };
    // The outbox is named only with a notice: a caller may write its own outbox and no other (ACL).
    const state = this.keys.incidentState(id);
    const previous = await setStatusScript.run(
      this.redis,
      [state, options.notice ? this.keys.outbox(options.notice.source) : state],
      [
        this.layout,
        id,
        status,
        JSON.stringify(entry),
        entry.at,
        (options.from ?? []).join(','),
        options.summary ?? '',
        options.notice?.job.eventId ?? '',
        options.notice ? outboxEntry(options.notice.job, now.getTime()) : '',
        options.acknowledgedBy ?? '',
      ],
    );
    const parsed = incidentStatusSchema.safeParse(previous);
    return parsed.success ? parsed.data : null;
  }

  /** A re-run hands the incident back to the agent: no human owns it any more. */
  async releaseOwnership(id: string): Promise<void> {
    await this.redis.hdel(this.keys.incidentState(id), 'acknowledgedBy', 'acknowledgedAt');
  }

  /** Executor only: records (or updates) the decision for an action. */
  async recordAction(incidentId: string, record: ActionRecord): Promise<void> {
    await this.redis.hset(this.keys.incidentActions(incidentId), record.id, JSON.stringify(record));
  }

  /**
   * Executor only: records (or updates) the decision for an action and its timeline entry, in one
   * step, only while the incident exists. Whether it did. `once`: a decision recorded again (a
   * crashed recording redone) writes nothing when the action's record has that decision already.
   */
  async recordDecision(
    incidentId: string,
    record: ActionRecord,
    entry: NewTimelineEntry,
    once = false,
  ): Promise<boolean> {
    const now = new Date().toISOString();
    const full = timelineEntrySchema.parse({ ...entry, at: entry.at ?? now });
    const recorded = await recordDecisionScript.run(
      this.redis,
      [
        this.keys.incidentActions(incidentId),
        this.keys.incidentTimeline(incidentId),
        this.keys.incidentState(incidentId),
      ],
      [record.id, JSON.stringify(record), JSON.stringify(full), now, once ? '1' : ''],
    );
    return recorded === 1;
  }

  async getAction(incidentId: string, actionId: string): Promise<ActionRecord | null> {
    const raw = await this.redis.hget(this.keys.incidentActions(incidentId), actionId);
    return raw ? actionRecordSchema.parse(JSON.parse(raw)) : null;
  }
}

function toSummary(id: string, core: Record<string, string>, state: Record<string, string>): IncidentSummary {
  return {
    id,
    level: levelSchema.parse(Number(core.level)),
    status: incidentStatusSchema.parse(state.status ?? 'open'),
    alertname: core.alertname ?? '',
    severity: core.severity ?? '',
    instance: core.instance ?? '',
    service: core.service ?? '',
    correlationKey: core.correlationKey ?? '',
    storm: core.storm === '1',
    priority: Number(core.priority ?? 0),
    alertCount: Number(core.alertCount ?? 0),
    firingCount: Number(core.firingCount ?? 0),
    labels: parseRecord(core.labels),
    annotations: parseRecord(core.annotations),
    generatorURL: core.generatorURL ?? '',
    summary: state.summary,
    ...(state.acknowledgedBy
      ? { acknowledgedBy: state.acknowledgedBy, acknowledgedAt: state.acknowledgedAt ?? '' }
      : {}),
    ...verificationOf(state),
    ...(core.fleetIncident ? { fleetIncident: core.fleetIncident } : {}),
    createdAt: core.createdAt ?? '',
    updatedAt: latest(state.updatedAt, core.alertedAt) ?? core.createdAt ?? '',
  };
}

/** A fleet incident's fleet (shared/fleet.ts), from its hash, members and places; undefined for others. */
function fleetSummary(
  fleet: Record<string, string>,
  members: string[],
  places: Record<string, string>,
): FleetSummary | undefined {
  const placeList = Object.entries(places)
    .map(([place, region]) => {
      const [target = '', host = ''] = place.split('\n');
      return { target, host, region };
    })
    .sort((a, b) => a.region.localeCompare(b.region) || a.host.localeCompare(b.host));
  const parsed = fleetSummarySchema.safeParse({
    alertname: fleet.alertname,
    resource: fleet.resource,
    status: fleet.status,
    regions: [...new Set(placeList.map((place) => place.region))].sort(),
    places: placeList,
    members: members.sort(),
    openedAt: fleet.openedAt,
    ...(fleet.closedAt ? { closedAt: fleet.closedAt } : {}),
    ...(fleet.closedBy ? { closedBy: fleet.closedBy } : {}),
  });
  return parsed.success ? parsed.data : undefined;
}

function verificationOf(state: Record<string, string>): { verification?: VerificationState } {
  if (state.status !== 'verifying' || !state.verification) return {};
  const parsed = verificationStateSchema.safeParse(safeJson(state.verification));
  return parsed.success ? { verification: parsed.data } : {};
}

/**
 * The later of two ISO timestamps (they compare as text). Ingest stamps `alertedAt` on the incident
 * itself when alerts arrive, sparing the state hash a write per alert batch.
 */
function latest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return a > b ? a : b;
}

function parseRecord(raw: string | undefined): Record<string, string> {
  if (!raw) return {};
  const value: unknown = JSON.parse(raw);
  return typeof value === 'object' && value !== null ? (value as Record<string, string>) : {};
}

function parseTimelineEntry(raw: string): TimelineEntry {
  return timelineEntrySchema.parse(JSON.parse(raw));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
