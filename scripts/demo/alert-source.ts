/**
 * Without Prometheus and Alertmanager, the demo stands in for them: it probes each demo service's
 * /metrics every second and posts ServiceDown to Hermes in Alertmanager's webhook format (v4),
 * firing while a service does not answer and resolved once it does again.
 */
import { createHash } from 'node:crypto';
import { webhookEnvelope } from '../../bin/webhook.js';
import type { Alert } from '../../shared/schemas/alertmanager.js';
import { DEMO_SERVICE } from './vms.js';

export interface AlertSource {
  stop(): void;
}

async function answers(target: string): Promise<boolean> {
  try {
    return (await fetch(`http://${target}/metrics`, { signal: AbortSignal.timeout(900) })).ok;
  } catch {
    return false;
  }
}

export function startAlertSource(targets: string[], webhookUrl: string, token: string): AlertSource {
  const firingSince = new Map<string, string>();
  const post = async (target: string, startsAt: string, status: Alert['status']) => {
    const labels = {
      alertname: 'ServiceDown',
      severity: 'critical',
      service: DEMO_SERVICE,
      instance: target,
    };
    const alert: Alert = {
      status,
      labels,
      annotations: { summary: `${DEMO_SERVICE} is down on ${target}` },
      startsAt,
      endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
      generatorURL: '',
      fingerprint: createHash('sha256').update(JSON.stringify(labels)).digest('hex').slice(0, 16),
    };
    await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(webhookEnvelope([alert], status)),
    }).catch(() => undefined);
  };
  const timer = setInterval(() => {
    for (const target of targets) {
      void answers(target).then(async (up) => {
        const since = firingSince.get(target);
        if (!up && !since) {
          const startsAt = new Date().toISOString();
          firingSince.set(target, startsAt);
          await post(target, startsAt, 'firing');
        } else if (up && since) {
          firingSince.delete(target);
          await post(target, since, 'resolved');
        }
      });
    }
  }, 1_000);
  return { stop: () => clearInterval(timer) };
}
