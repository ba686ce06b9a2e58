import { describe, expect, it } from 'vitest';
import { locate, scopeOf } from '../../shared/targets/scope.js';
import { describePlacement, parseTargets } from '../../shared/targets/targets.js';

const CLUSTER = `
version: 1
targets:
  - name: prod
    match: { namespace: ".+" }
    kind: kubernetes
    kubernetes: { kubeconfig: /etc/hermes/kubeconfig, context: prod, namespaces: [shop, payments] }
`;
const targets = parseTargets(CLUSTER, 'targets.yaml');
const alert = (labels: Record<string, string>) => ({
  alertname: 'KubePodCrashLooping',
  instance: '10.0.0.9:8080',
  ...labels,
});

describe('kubernetes targets', () => {
  it('takes the workload from the alert: deployment, statefulset, daemonset, else pod', () => {
    expect(targets.place(alert({ namespace: 'shop', deployment: 'checkout', pod: 'checkout-1' }))).toEqual({
      ok: true,
      placement: {
        target: 'prod',
        kind: 'kubernetes',
        host: 'shop',
        instance: '10.0.0.9:8080',
        resource: 'checkout',
        workloadKind: 'deployment',
        region: 'unknown',
        zone: 'unknown',
      },
    });
    const pod = targets.place(alert({ namespace: 'shop', pod: 'checkout-7d9f-x2x' }));
    expect(pod).toMatchObject({
      ok: true,
      placement: { resource: 'checkout-7d9f-x2x', workloadKind: 'pod' },
    });
    if (!pod.ok) throw new Error(pod.reason);
    expect(describePlacement(pod.placement)).toBe(
      'pod shop/checkout-7d9f-x2x on cluster prod via kubernetes',
    );
    expect(targets.place(alert({ namespace: 'shop', statefulset: 'ledger' }))).toMatchObject({
      placement: { workloadKind: 'statefulset', resource: 'ledger' },
    });
  });

  it('gives an alert in a namespace it may not touch no target, and refuses names Kubernetes would not take', () => {
    expect(targets.place(alert({ namespace: 'kube-system', deployment: 'coredns' }))).toEqual({
      ok: false,
      reason: 'target prod: namespace kube-system is not one it may touch (shop, payments)',
    });
    expect(targets.place(alert({ namespace: 'shop', deployment: 'Check_Out' }))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('is not a valid deployment name'),
    });
  });

  it('locates by the namespace or the cluster name, and only the workloads the alerts name', () => {
    const scope = scopeOf(targets, [alert({ namespace: 'shop', deployment: 'checkout' })]);
    expect(locate(scope, { host: 'prod', resource: 'checkout' }).ok).toBe(true);
    expect(locate(scope, { host: 'shop', resource: 'checkout' }).ok).toBe(true);
    expect(locate(scope, { host: 'payments', resource: 'checkout' })).toMatchObject({ ok: false });
    expect(locate(scope, { resource: 'cart' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('(scope: deployment shop/checkout on cluster prod via kubernetes)'),
    });
  });

  it('needs a kubeconfig or inCluster, not both, and no resource template', () => {
    const bad =
      (settings: string, extra = '') =>
      () =>
        parseTargets(
          `version: 1\ntargets:\n  - name: c\n    kind: kubernetes\n${extra}    kubernetes: ${settings}\n`,
        );
    expect(bad('{ namespaces: [shop] }')).toThrow(/either kubeconfig .* or inCluster: true/);
    expect(bad('{ kubeconfig: /k, inCluster: true, namespaces: [shop] }')).toThrow(/either kubeconfig/);
    expect(bad('{ inCluster: true, context: x, namespaces: [shop] }')).toThrow(/context needs a kubeconfig/);
    expect(bad('{ inCluster: true, namespaces: [] }')).toThrow();
    expect(bad('{ inCluster: true, namespaces: [shop] }', '    resource: "{{labels.app}}"\n')).toThrow(
      /resource/,
    );
    expect(bad('{ inCluster: true, namespaces: [shop] }')()).toBeDefined();
  });
});
