import type { Queue } from 'bullmq';
import { randomId } from '../../shared/ids.js';
import { type Keyspace, scriptKeyLayout } from '../../shared/keys.js';
import { loadLua } from '../../shared/lua.js';
import type { Metrics } from '../../shared/metrics.js';
import { openedNotice, resolvedEventId, resolvedNotice } from '../../shared/notices.js';
import { enqueueNotifications } from '../../shared/notify.js';
import { NotificationOutbox } from '../../shared/outbox.js';
import { triageJobId } from '../../shared/queues.js';
import type { RedisConnection } from '../../shared/redis.js';
import { StorageChangedError } from '../../shared/redis-errors.js';
import type { Alert, AlertmanagerWebhook } from '../../shared/schemas/alertmanager.js';
import type { NotificationJob, TriageJob } from '../../shared/schemas/jobs.js';
import type { StoredAlert } from '../../shared/schemas/stored-alert.js';
import { type Classifier, priorityFor } from './classify.js';
import type { createCorrelator } from './correlation.js';
import type { Fleets, SeenAlert } from './fleet/fleets.js';
import { InFlightAlerts, type Recording } from './in-flight-alerts.js';
import { RecentAlerts } from './recent-alerts.js';
import { rfc3339Ms } from './rfc3339.js';

const intakeScript = loadLua(new URL('./lua/intake-7.lua', import.meta.url));
/** The resolution notice, worded once; the script fills in each resolved incident's id. */
const RESOLVED_NOTICE = JSON.stringify(resolvedNotice(''));

export interface IntakeSettings {
  stormThreshold: number;
  stormWindowSeconds: number;
  stormTriageBudget: number;
  dedupTtlSeconds: number;
  /** How many recorded alerts each process remembers to answer re-sends without Redis (0: none). */
  dedupCacheSize: number;
  timelineAlertCap: number;
}

export interface IntakeResult {
  accepted: number;
  duplicates: number;
  incidents: string[];
  opened: string[];
  resolved: string[];
}

/** A webhook between reading the recent-alert cache and asking Redis about the rest. */
interface PendingRequest {
  alerts: Alert[];
  /** Incident per alert, where already known (from the cache). */
  incidentOf: (string | undefined)[];
  /** The epoch the cache answered under. */
  cachedUnder: string | null;
  /** Indexes of the alerts this request asks Redis about. */
  misses: number[];
  /** Indexes of alerts another request is recording, with that recording. */
  joined: Map<number, Promise<string>>;
  now: Date;
  recording: Recording;
}

/** An alert as the script takes it: its fields and the alert itself, as stored. */
interface ScriptRecord {
  fields: (string | number)[];
  alert: string;
}

type OpenedIncident = [
  id: string,
  priority: number,
  storm: number,
  severity: string,
  level: number,
  alertname: string,
];

interface ScriptReply {
  /** The Redis epoch the script ran under. */
  epoch: string;
  /** Set when the caller's memory was about another epoch: nothing was done. */
  stale?: 1;
  /** Flat: code, incident id, code, incident id… */
  r: string[];
  opened: OpenedIncident[];
  resolved: string[];
  /** Incidents re-sent alerts belong to that still wait for triage (an earlier attempt may have died before queueing their jobs). */
  waiting: OpenedIncident[];
  /** The storm incident, when the batch joined or opened it. */
  storm?: string;
}

/** Turns one Alertmanager webhook into incident updates (one script) and queued work (one addBulk). */
export interface IntakeDeps {
  redis: RedisConnection;
  keys: Keyspace;
  triageQueue: Queue<TriageJob>;
  notificationQueue: Queue<NotificationJob>;
  classifier: Classifier;
  correlate: ReturnType<typeof createCorrelator>;
  settings: IntakeSettings;
  metrics?: Pick<Metrics, 'intakeScriptDuration'>;
  /** The fleet rules (fleet/fleets.ts), run on each batch before its triage jobs are queued. */
  fleets?: Fleets;
}

export class Intake {
  constructor(private readonly deps: IntakeDeps) {
    const { redis, keys, notificationQueue, settings } = deps;
    this.outbox = new NotificationOutbox(redis, keys, 'ingest', notificationQueue);
    this.layout = JSON.stringify(scriptKeyLayout(keys));
    // Entries expire long before the Redis records they stand for (DEDUP_TTL_SECONDS ≥ 60).
    this.recent = new RecentAlerts(
      settings.dedupCacheSize,
      Math.min(300_000, settings.dedupTtlSeconds * 500),
    );
  }

  private readonly recent: RecentAlerts;
  private readonly inFlight = new InFlightAlerts();
  /** Storm incidents seen lately: the fleet rules leave their alerts out without placing them. */
  private readonly storms = new Set<string>();
  private readonly outbox: NotificationOutbox;
  private readonly layout: string;

  async ingest(webhook: AlertmanagerWebhook): Promise<IntakeResult> {
    const now = new Date();
    const alerts = webhook.alerts;
    // Re-sends of alerts this process recorded are answered from memory; the rest need Redis.
    const cachedUnder = this.recent.epoch;
    const incidentOf = alerts.map((alert) => this.recent.duplicateOf(alert, now.getTime()));
    // Re-sends of alerts another request of this process is recording right now wait for that one.
    const joined = new Map<number, Promise<string>>();
    const misses: number[] = [];
    for (let i = 0; i < alerts.length; i++) {
      if (incidentOf[i] !== undefined) continue;
      const recording = this.inFlight.join(alerts[i] as Alert);
      if (recording) joined.set(i, recording);
      else misses.push(i);
    }
    const recording = this.inFlight.begin(misses.map((i) => alerts[i] as Alert));
    try {
      return await this.record(webhook, { alerts, incidentOf, cachedUnder, misses, joined, now, recording });
    } catch (error) {
      recording.fail(error as Error);
      throw error;
    }
  }

  private async record(webhook: AlertmanagerWebhook, request: PendingRequest): Promise<IntakeResult> {
    const { alerts, incidentOf, cachedUnder, misses, joined, now, recording } = request;
    // Answers from memory hold only if Redis is still the one they were about (same epoch).
    const usedMemory = misses.length + joined.size < alerts.length;
    let reply: ScriptReply | undefined;
    if (misses.length > 0) {
      reply = await this.run(
        misses.map((i) => this.describe(alerts[i] as Alert, webhook)),
        webhook.receiver,
        now,
        usedMemory ? (cachedUnder as string) : '',
      );
      this.recent.adopt(reply.epoch);
    } else if (usedMemory && (await this.deps.redis.get(this.deps.keys.ingestEpoch)) !== cachedUnder) {
      this.recent.forget();
      return this.ingest(webhook);
    }
    if (reply?.stale) {
      // Cached answers were about another Redis: start again. Requests waiting on this one retry.
      recording.fail(
        new StorageChangedError('Redis was flushed or replaced while this alert was being recorded'),
      );
      return this.ingest(webhook);
    }
    const results = asArray(reply?.r);
    let accepted = 0;
    for (let k = 0; k < misses.length; k++) {
      incidentOf[misses[k] as number] = results[2 * k + 1];
      if (results[2 * k] !== 'dup') accepted++;
    }
    const opened = asArray(reply?.opened);
    const resolved = asArray(reply?.resolved);
    if (reply?.storm) this.rememberStorm(reply.storm);
    // Triage must never see a member of a fleet incident before the fleet exists.
    await this.deps.fleets?.observe(this.seen(webhook, incidentOf), resolved, now);
    // Announced before their triage jobs are queued, so an incident found still waiting for its job
    // (never queued) may be unannounced too: announced again, which its event id makes a no-op if not.
    const unqueued = [...opened, ...(await this.neverQueued(asArray(reply?.waiting)))];
    await this.afterOpen(unqueued);
    await this.enqueueTriage(unqueued);
    await this.afterResolve(resolved);
    if (reply) {
      const nowMs = now.getTime();
      for (const i of misses)
        this.recent.remember(alerts[i] as Alert, incidentOf[i] as string, nowMs, reply.epoch);
    }
    recording.settle(misses.map((i) => incidentOf[i] as string));
    for (const [i, recorded] of joined) incidentOf[i] = await recorded;
    return {
      accepted,
      duplicates: alerts.length - accepted,
      incidents: [...new Set(incidentOf as string[])],
      opened: opened.map(([id]) => id),
      resolved,
    };
  }

  private rememberStorm(id: string): void {
    if (this.storms.size >= 16) this.storms.clear();
    this.storms.add(id);
  }

  /**
   * The batch's alerts whose incidents are known, new and re-sent alike, for the fleet rules; not
   * those of a storm incident (the script leaves those out too: this only spares placing them).
   */
  private seen(webhook: AlertmanagerWebhook, incidentOf: (string | undefined)[]): SeenAlert[] {
    const seen: SeenAlert[] = [];
    webhook.alerts.forEach((alert, i) => {
      const incidentId = incidentOf[i];
      if (incidentId === undefined || this.storms.has(incidentId)) return;
      seen.push({
        fingerprint: alert.fingerprint,
        labels: withCommon(webhook.commonLabels, alert.labels),
        status: alert.status,
        incidentId,
      });
    });
    return seen;
  }

  /** After the connection to Redis dropped: what it held may not be what is remembered. */
  forgetRecentAlerts(): void {
    this.recent.forget();
  }

  private async run(
    records: ScriptRecord[],
    receiver: string,
    now: Date,
    cachedUnder: string,
  ): Promise<ScriptReply> {
    const sent = performance.now();
    const reply = await intakeScript.run(
      this.deps.redis,
      [
        this.deps.keys.stormOpened,
        this.deps.keys.ingestEpoch,
        this.deps.keys.stormCurrent,
        this.deps.keys.triageBacklog,
        this.deps.keys.incidentIndex,
        this.deps.keys.outbox('ingest'),
        this.deps.keys.incidentIds,
      ],
      [
        this.layout,
        now.toISOString(),
        String(now.getTime()),
        String(this.deps.settings.stormThreshold),
        String(this.deps.settings.stormWindowSeconds * 1000),
        String(this.deps.settings.stormTriageBudget),
        randomId('inc'),
        String(this.deps.settings.dedupTtlSeconds),
        String(this.deps.settings.timelineAlertCap),
        randomId('epoch'),
        cachedUnder,
        receiver,
        RESOLVED_NOTICE,
        JSON.stringify(records.map((record) => record.fields)),
        ...records.map((record) => record.alert),
      ],
    );
    this.deps.metrics?.intakeScriptDuration.observe((performance.now() - sent) / 1000);
    return JSON.parse(reply as string) as ScriptReply;
  }

  /** The script's record for an alert: its fields, and the alert as its incident keeps it. */
  private describe(alert: Alert, webhook: AlertmanagerWebhook): ScriptRecord {
    const labels = wellFormed(withCommon(webhook.commonLabels, alert.labels));
    const level = this.deps.classifier.level(labels);
    const severity = labels.severity ?? 'warning';
    const correlation = this.deps.correlate(labels);
    const startsAtMs = rfc3339Ms(alert.startsAt);
    const stored: StoredAlert = [
      alert.status,
      alert.fingerprint,
      alert.startsAt,
      alert.endsAt,
      labels,
      wellFormed(withCommon(webhook.commonAnnotations, alert.annotations)),
      wellFormedText(alert.generatorURL),
    ];
    if (startsAtMs !== undefined) stored.push(startsAtMs);
    return {
      fields: [
        alert.fingerprint,
        alert.startsAt,
        startsAtMs ?? '',
        alert.status,
        correlation.hash,
        correlation.readable,
        level,
        severity,
        priorityFor(level, severity),
      ],
      alert: JSON.stringify(stored),
    };
  }

  /** Idempotent: jobId is derived from the incident id, so re-adding an existing job is a no-op. */
  private async enqueueTriage(incidents: OpenedIncident[]): Promise<void> {
    if (incidents.length === 0) return;
    await this.deps.triageQueue.addBulk(
      incidents.map(([incidentId, priority]) => ({
        name: 'triage',
        data: { incidentId, trigger: 'alert' as const },
        opts: { jobId: triageJobId(incidentId), priority },
      })),
    );
  }

  /** Of the incidents still waiting for triage, those whose triage job was never queued (BullMQ knows none). */
  private async neverQueued(waiting: OpenedIncident[]): Promise<OpenedIncident[]> {
    if (waiting.length === 0) return [];
    const jobs = await Promise.all(
      waiting.map(([incidentId]) => this.deps.triageQueue.getJob(triageJobId(incidentId))),
    );
    return waiting.filter((_, i) => jobs[i] === undefined);
  }

  /** Announces every new incident; the notifier's routes decide who hears (level 3 and storms page). */
  private async afterOpen(opened: OpenedIncident[]): Promise<void> {
    await enqueueNotifications(
      this.deps.notificationQueue,
      opened.map(([incidentId, , storm, severity, level, alertname]) =>
        openedNotice({ incidentId, storm: storm === 1, level, severity, alertname }),
      ),
    );
  }

  /**
   * Resolved incidents need no investigation: drop a still-waiting triage job and tell the team (the
   * script recorded the notice in the outbox).
   */
  private async afterResolve(resolved: string[]): Promise<void> {
    for (const incidentId of resolved) {
      const job = await this.deps.triageQueue.getJob(triageJobId(incidentId));
      if (job && QUEUED_STATES.has(await job.getState())) await job.remove().catch(() => undefined);
      await this.outbox.deliverRecorded(resolvedEventId(incidentId));
    }
  }
}

const QUEUED_STATES = new Set(['waiting', 'prioritized', 'delayed']);

/** Alertmanager's alert labels already hold the common ones; only a hand-made body may lack some. */
function withCommon(common: Record<string, string>, own: Record<string, string>): Record<string, string> {
  for (const name in common) if (!Object.hasOwn(own, name)) return { ...common, ...own };
  return own;
}

const SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A lone UTF-16 surrogate (valid JSON, but no character) becomes U+FFFD: Redis' JSON decoder
 * rejects it, and one such value must not sink the alerts beside it. Other text is untouched.
 */
function wellFormedText(text: string): string {
  return SURROGATE.test(text) ? text.replace(LONE_SURROGATE, '\uFFFD') : text;
}

function wellFormed(record: Record<string, string>): Record<string, string> {
  for (const name in record) {
    if (SURROGATE.test(name) || SURROGATE.test(record[name] as string)) {
      // No prototype: a label named `__proto__` stays a label.
      const fixed: Record<string, string> = Object.create(null);
      for (const [key, value] of Object.entries(record)) fixed[wellFormedText(key)] = wellFormedText(value);
      return fixed;
    }
  }
  return record;
}

function asArray<T>(value: T[] | Record<string, never> | undefined): T[] {
  return Array.isArray(value) ? value : [];
}
