import { randomBytes } from 'node:crypto';
import type { Alert, AlertmanagerWebhook } from '../shared/schemas/alertmanager.js';

export interface TestAlertSpec {
  alertname: string;
  severity: string;
  instance: string;
  service: string;
  description: string;
}

/** The Alertmanager v4 webhook envelope around `alerts`, as a webhook receiver gets it. */
export function webhookEnvelope(alerts: Alert[], status: Alert['status'] = 'firing'): AlertmanagerWebhook {
  return {
    version: '4',
    groupKey: `{}:{alertname="${alerts[0]?.labels.alertname ?? ''}"}`,
    truncatedAlerts: 0,
    status,
    receiver: 'hermes',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.local:9093',
    alerts,
  };
}

/** An Alertmanager v4 webhook body carrying these alerts, fresh fingerprints and startsAt. */
export function alertmanagerBody(specs: TestAlertSpec[]): AlertmanagerWebhook {
  const now = new Date().toISOString();
  return webhookEnvelope(
    specs.map((spec) => ({
      status: 'firing',
      labels: {
        alertname: spec.alertname,
        severity: spec.severity,
        instance: spec.instance,
        service: spec.service,
      },
      annotations: { description: spec.description, summary: `${spec.alertname} on ${spec.instance}` },
      startsAt: now,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: '',
      fingerprint: randomBytes(8).toString('hex'),
    })),
  );
}
