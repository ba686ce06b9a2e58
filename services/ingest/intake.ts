import type { Queue } from 'bullmq';
import { randomId } from '../../shared/ids.js';
import type { Keyspace } from '../../shared/keys.js';
import { luaScript } from '../../shared/lua.js';
import { enqueueNotification } from '../../shared/notify.js';
import type { RedisConnection } from '../../shared/redis.js';
import type { Alert, AlertmanagerWebhook } from '../../shared/schemas/alertmanager.js';
import type { NotificationJob, TriageJob } from '../../shared/schemas/jobs.js';
import { type Classifier, priorityFor } from './classify.js';
import type { createCorrelator } from './correlation.js';
import { INTAKE_LUA } from './intake-script.js';

const intakeScript = luaScript(INTAKE_LUA);

export interface IntakeSettings {
  stormThreshold: number;
  stormWindowSeconds: number;
  stormTriageBudget: number;
  dedupTtlSeconds: number;
  timelineAlertCap: number;
}

export interface IntakeResult {
  accepted: number;
  duplicates: number;
  incidents: string[];
  opened: string[];
  resolved: string[];
}

interface ScriptReply {
  r: [code: 'new' | 'dup' | 'update', incidentId: string][];
  opened: [id: string, priority: number, storm: number, severity: string, level: number, alertname: string][];
  resolved: string[];
  pending: [id: string, priority: number, storm: number][];
}

/** Turns one Alertmanager webhook into incident updates (one script) and queued work (one addBulk). */
export class Intake {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
    private readonly triageQueue: Queue<TriageJob>,
    private readonly notificationQueue: Queue<NotificationJob>,
    private readonly classifier: Classifier,
    private readonly correlate: ReturnType<typeof createCorrelator>,
    private readonly settings: IntakeSettings,
  ) {}

  async ingest(webhook: AlertmanagerWebhook): Promise<IntakeResult> {
    const now = new Date();
    const alerts = webhook.alerts.map((alert) => this.describe(alert, webhook, now));
    const reply = JSON.parse(
      (await intakeScript(
        this.redis,
        [this.keys.stormOpened],
        [
          this.keys.bullPrefix,
          now.toISOString(),
          String(now.getTime()),
          String(this.settings.stormThreshold),
          String(this.settings.stormWindowSeconds * 1000),
          String(this.settings.stormTriageBudget),
          randomId('inc'),
          String(this.settings.dedupTtlSeconds),
          String(this.settings.timelineAlertCap),
          ...alerts,
        ],
      )) as string,
    ) as ScriptReply;
    const results = asArray(reply.r);
    const opened = asArray(reply.opened);
    const resolved = asArray(reply.resolved);
    await this.enqueueTriage([...opened, ...asArray(reply.pending)]);
    await this.afterOpen(opened);
    await this.afterResolve(resolved);
    return {
      accepted: results.filter(([code]) => code !== 'dup').length,
      duplicates: results.filter(([code]) => code === 'dup').length,
      incidents: [...new Set(results.map(([, id]) => id))],
      opened: opened.map(([id]) => id),
      resolved,
    };
  }

  private describe(alert: Alert, webhook: AlertmanagerWebhook, now: Date): string {
    const labels = { ...webhook.commonLabels, ...alert.labels };
    const annotations = { ...webhook.commonAnnotations, ...alert.annotations };
    const level = this.classifier.level(labels);
    const severity = labels.severity ?? 'warning';
    const correlation = this.correlate(labels);
    return JSON.stringify({
      fp: alert.fingerprint,
      startsAt: alert.startsAt,
      status: alert.status,
      ck: correlation.hash,
      ckText: correlation.readable,
      level,
      severity,
      priority: priorityFor(level, severity),
      id: randomId('inc'),
      alertname: labels.alertname ?? '',
      instance: labels.instance ?? '',
      service: labels.service ?? labels.job ?? '',
      labels: JSON.stringify(labels),
      annotations: JSON.stringify(annotations),
      generatorURL: alert.generatorURL,
      entry: JSON.stringify({
        at: now.toISOString(),
        type: 'alert',
        by: 'ingest',
        status: alert.status,
        fingerprint: alert.fingerprint,
        startsAt: alert.startsAt,
        endsAt: alert.endsAt,
        labels,
        annotations,
        generatorURL: alert.generatorURL,
        receiver: webhook.receiver,
      }),
    });
  }

  /** Idempotent: jobId is derived from the incident id, so re-adding an existing job is a no-op. */
  private async enqueueTriage(
    incidents: [id: string, priority: number, ...rest: unknown[]][],
  ): Promise<void> {
    if (incidents.length === 0) return;
    await this.triageQueue.addBulk(
      incidents.map(([incidentId, priority]) => ({
        name: 'triage',
        data: { incidentId, trigger: 'alert' as const },
        opts: { jobId: `triage-${incidentId}`, priority },
      })),
    );
  }

  /** Announces every new incident; the notifier's routes decide who hears (level 3 and storms page). */
  private async afterOpen(opened: ScriptReply['opened']): Promise<void> {
    for (const [incidentId, , storm, severity, level, alertname] of opened) {
      await enqueueNotification(this.notificationQueue, {
        eventId: `${storm ? 'storm' : 'opened'}-${incidentId}`,
        incidentId,
        event: storm ? 'storm_opened' : 'incident_opened',
        severity: storm || level === 3 ? 'critical' : notificationSeverity(severity),
        title: storm
          ? 'Alert storm: alerts are being coalesced'
          : `New level ${level} incident: ${alertname}`,
        text: storm
          ? 'Too many incidents opened at once. Further alerts join this storm incident; critical ones are still investigated.'
          : level === 3
            ? 'This incident is level 3: the agent will not change anything. Please take over.'
            : 'Hermes is investigating.',
      });
    }
  }

  /** Resolved incidents need no investigation: drop a still-waiting triage job and tell the team. */
  private async afterResolve(resolved: string[]): Promise<void> {
    for (const incidentId of resolved) {
      const job = await this.triageQueue.getJob(`triage-${incidentId}`);
      if (job && QUEUED_STATES.has(await job.getState())) await job.remove().catch(() => undefined);
      await enqueueNotification(this.notificationQueue, {
        eventId: `resolved-${incidentId}`,
        incidentId,
        event: 'resolved',
        severity: 'info',
        title: 'Resolved',
        text: 'All alerts of this incident have resolved.',
      });
    }
  }
}

function notificationSeverity(severity: string): 'info' | 'warning' | 'critical' {
  if (severity === 'critical') return 'critical';
  return severity === 'info' ? 'info' : 'warning';
}

const QUEUED_STATES = new Set(['waiting', 'prioritized', 'delayed']);

function asArray<T>(value: T[] | Record<string, never> | undefined): T[] {
  return Array.isArray(value) ? value : [];
}
