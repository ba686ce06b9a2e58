import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCorrelator, DEFAULT_CORRELATION_LABELS } from '../correlation.js';

describe('correlation keys', () => {
  const correlate = createCorrelator('alertname,service|job,instance');

  it('keeps label values that hold separators apart', () => {
    const a = correlate({ alertname: 'X', service: 'payments,instance=db-1', instance: '' });
    const b = correlate({ alertname: 'X', service: 'payments', instance: 'db-1,instance=' });
    expect(a.hash).not.toBe(b.hash);
  });

  it('groups alerts that agree on every term, and only those', () => {
    const label = fc.string({ maxLength: 12 });
    fc.assert(
      fc.property(
        fc.tuple(label, label, label),
        fc.tuple(label, label, label),
        ([a1, s1, i1], [a2, s2, i2]) => {
          const same = a1 === a2 && s1 === s2 && i1 === i2;
          const one = correlate({ alertname: a1, service: s1, instance: i1 });
          const two = correlate({ alertname: a2, service: s2, instance: i2 });
          expect(one.hash === two.hash).toBe(same);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('reads only labels the alert has, whatever they are called', () => {
    const byConstructor = createCorrelator('constructor,toString');
    expect(byConstructor({}).hash).toBe(byConstructor({}).hash);
    expect(byConstructor({}).readable).toBe('constructor=,toString=');
  });

  it('by default, never groups two workloads or containers that one exporter instance reports', () => {
    const correlate = createCorrelator(DEFAULT_CORRELATION_LABELS);
    const kube = { alertname: 'KubePodCrashLooping', job: 'kube-state-metrics', instance: '10.0.3.7:8080' };
    const alerts: Record<string, string>[] = [
      { ...kube, namespace: 'shop', deployment: 'checkout' },
      { ...kube, namespace: 'shop', deployment: 'payments-api' },
      { ...kube, namespace: 'payments', deployment: 'checkout' },
      { ...kube, namespace: 'shop', statefulset: 'checkout-db' },
      { ...kube, namespace: 'shop', daemonset: 'log-agent' },
      { ...kube, namespace: 'shop', pod: 'checkout-7d9f8-abcde' },
      { alertname: 'ContainerDown', job: 'cadvisor', instance: 'docker-host-1:8080', container: 'web-1' },
      { alertname: 'ContainerDown', job: 'cadvisor', instance: 'docker-host-1:8080', container: 'db-1' },
      { alertname: 'ContainerDown', job: 'cadvisor', instance: 'docker-host-1:8080', name: 'cache-1' },
    ];
    const keys = alerts.map((labels) => correlate(labels).hash);
    expect(new Set(keys).size).toBe(keys.length);
    // Labels outside the key still group: a workload's repeated alerts are one incident.
    expect(correlate({ ...kube, namespace: 'shop', deployment: 'checkout', severity: 'critical' }).hash).toBe(
      correlate({ ...kube, namespace: 'shop', deployment: 'checkout', severity: 'warning' }).hash,
    );
  });
});
