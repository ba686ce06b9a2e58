import { randomBytes } from 'node:crypto';
import { webhookEnvelope } from '../../bin/webhook.js';
import { createClassifier } from '../../services/ingest/classify.js';
import { createCorrelator } from '../../services/ingest/correlation.js';
import { Intake } from '../../services/ingest/intake.js';
import { createQueue, QUEUE } from '../../shared/queues.js';
import type { Alert, AlertmanagerWebhook } from '../../shared/schemas/alertmanager.js';
import type { Level } from '../../shared/schemas/incident.js';
import type { NotificationJob, TriageJob } from '../../shared/schemas/jobs.js';
import type { TestRedis } from './redis.js';

export interface TestAlert {
  alertname: string;
  severity?: string;
  instance?: string;
  service?: string;
  level?: Level;
  status?: 'firing' | 'resolved';
  fingerprint?: string;
  startsAt?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** An Alertmanager v4 webhook body for these alerts, as Alertmanager 0.25 sends it. */
export function webhookBody(
  alerts: TestAlert[],
  status: 'firing' | 'resolved' = 'firing',
): AlertmanagerWebhook {
  return webhookEnvelope(alerts.map(toAlert), status);
}

export function toAlert(alert: TestAlert): Alert {
  const labels: Record<string, string> = {
    alertname: alert.alertname,
    severity: alert.severity ?? 'warning',
    instance: alert.instance ?? 'app-server-01',
    ...(alert.service ? { service: alert.service } : {}),
    ...(alert.level ? { automation_level: String(alert.level) } : {}),
    ...alert.labels,
  };
  return {
    status: alert.status ?? 'firing',
    labels,
    annotations: alert.annotations ?? { description: `${alert.alertname} on ${labels.instance}` },
    startsAt: alert.startsAt ?? new Date().toISOString(),
    endsAt: alert.status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
    generatorURL: `http://prometheus.test:9090/graph?g0.expr=${encodeURIComponent(alert.alertname.replace(/[\ud800-\udfff]/g, '?'))}`,
    fingerprint: alert.fingerprint ?? randomBytes(8).toString('hex'),
  };
}

/** Sends a webhook body through the real ingest path (dedup, classification, triage jobs). */
export async function ingestWebhook(t: TestRedis, body: AlertmanagerWebhook) {
  const triage = createQueue<TriageJob>(QUEUE.triage, t.redis, t.keys.bullPrefix);
  const notifications = createQueue<NotificationJob>(QUEUE.notifications.ingest, t.redis, t.keys.bullPrefix);
  try {
    const intake = new Intake({
      redis: t.redis,
      keys: t.keys,
      triageQueue: triage,
      notificationQueue: notifications,
      classifier: createClassifier(),
      correlate: createCorrelator('alertname,service|job,instance,test_incident'),
      settings: {
        stormThreshold: 10_000,
        stormWindowSeconds: 60,
        stormTriageBudget: 100,
        dedupTtlSeconds: 3600,
        dedupCacheSize: 0,
        timelineAlertCap: 50,
      },
    });
    return await intake.ingest(body);
  } finally {
    await Promise.all([triage.close(), notifications.close()]);
  }
}

/**
 * Opens a new incident (each call its own) through the real ingest path and returns its id.
 * `level` becomes the `automation_level` label, which ingest honours as an override.
 */
export async function openIncident(t: TestRedis, alert: TestAlert): Promise<string> {
  const labels = { test_incident: randomBytes(6).toString('hex'), ...alert.labels };
  const result = await ingestWebhook(t, webhookBody([{ ...alert, labels }]));
  const id = result.incidents[0];
  if (!id) throw new Error('ingest opened no incident');
  return id;
}
