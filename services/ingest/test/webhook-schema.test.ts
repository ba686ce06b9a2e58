import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { alertmanagerWebhookSchema } from '../../../shared/schemas/alertmanager.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../test/fixtures', name), 'utf8')) as {
    alerts: Record<string, unknown>[];
  };

it('accepts the bodies a real Alertmanager 0.25 sent', () => {
  for (const name of ['alertmanager-0.25-webhook-firing.json', 'alertmanager-0.25-webhook-resolved.json']) {
    expect(alertmanagerWebhookSchema.safeParse(fixture(name)).success).toBe(true);
  }
});

it('names the label or annotation that is not a string, and label sets that are not objects', () => {
  const body = fixture('alertmanager-0.25-webhook-firing.json');
  const alert = body.alerts[0] as Record<string, unknown>;
  const bad = {
    ...body,
    commonAnnotations: [],
    alerts: [
      { ...alert, labels: { ...(alert.labels as object), replicas: 3 } },
      { ...alert, annotations: null },
    ],
  };
  const result = alertmanagerWebhookSchema.safeParse(bad);
  expect(result.success).toBe(false);
  expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
    ['commonAnnotations', 'expected an object of string values'],
    ['alerts.0.labels.replicas', 'expected a string'],
    ['alerts.1.annotations', 'expected an object of string values'],
  ]);
});

it('reports a missing alertname once the labels themselves are valid', () => {
  const body = fixture('alertmanager-0.25-webhook-firing.json');
  const alert = body.alerts[0] as Record<string, unknown>;
  const result = alertmanagerWebhookSchema.safeParse({
    ...body,
    alerts: [
      { ...alert, labels: { job: 'x' } },
      { ...alert, labels: 'x' },
    ],
  });
  expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
    ['alerts.0.labels', 'labels.alertname is required'],
    ['alerts.1.labels', 'expected an object of string values'],
  ]);
});
