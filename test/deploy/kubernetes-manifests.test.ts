import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { parseTargets } from '../../shared/targets/targets.js';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
interface Container {
  name: string;
  args?: string[];
  env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[];
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
}
interface PodTemplate {
  spec: { serviceAccountName?: string; automountServiceAccountToken?: boolean; containers: Container[] };
}

const load = (file: string): Manifest[] =>
  parseAllDocuments(readFileSync(`deploy/kubernetes/${file}`, 'utf8')).map((doc) => doc.toJSON() as Manifest);
const manifests = ['namespace.yaml', 'rbac.yaml', 'hermes.yaml'].flatMap(load);
const find = (kind: string, name: string) => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
const rules = (name: string) => find('Role', name).rules as Rule[];
const template = (kind: string, name: string) =>
  (find(kind, name).spec as { template: PodTemplate }).template;

describe('deploy/kubernetes', () => {
  it('is what the kustomization applies, every object named and namespaced', () => {
    expect(parse(readFileSync('deploy/kubernetes/kustomization.yaml', 'utf8')).resources).toEqual([
      'namespace.yaml',
      'rbac.yaml',
      'hermes.yaml',
    ]);
    for (const m of manifests) {
      expect(m.apiVersion && m.kind && m.metadata.name).toBeTruthy();
      if (m.kind !== 'Namespace') expect(['hermes', 'shop']).toContain(m.metadata.namespace);
    }
  });

  it('gives triage read verbs only, and the executor no write but patch on workloads and their scale', () => {
    for (const rule of rules('hermes-triage-read'))
      expect(rule.verbs.every((v) => ['get', 'list', 'watch'].includes(v))).toBe(true);
    const writes = rules('hermes-executor').flatMap((rule) =>
      rule.verbs
        .filter((v) => !['get', 'list', 'watch'].includes(v))
        .flatMap((verb) => rule.resources.map((r) => `${verb} ${r}`)),
    );
    expect(writes.sort()).toEqual([
      'patch daemonsets',
      'patch deployments',
      'patch deployments/scale',
      'patch statefulsets',
      'patch statefulsets/scale',
    ]);
    const everything = [...rules('hermes-triage-read'), ...rules('hermes-executor')];
    expect(everything.flatMap((r) => r.resources)).not.toContain('secrets');
    expect(everything.flatMap((r) => r.verbs)).not.toContain('*');
    const bindings = manifests.filter((m) => m.kind === 'RoleBinding');
    expect(
      bindings.map((b) => [
        (b.roleRef as { name: string }).name,
        (b.subjects as { name: string }[])[0]?.name,
      ]),
    ).toEqual([
      ['hermes-triage-read', 'hermes-triage'],
      ['hermes-executor', 'hermes-executor'],
    ]);
  });

  it('runs the four services and Redis with AOF; only triage and the executor hold a Kubernetes token', () => {
    expect(template('StatefulSet', 'redis').spec.containers[0]?.args).toEqual(
      expect.arrayContaining(['--appendonly', 'yes']),
    );
    const ingest = template('Deployment', 'ingest').spec;
    expect(ingest.containers[0]?.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(ingest.containers[0]?.readinessProbe?.httpGet?.path).toBe('/readyz');
    for (const name of ['ingest', 'triage', 'executor', 'notifier']) {
      const spec = template('Deployment', name).spec;
      expect(spec.containers[0]?.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(spec.containers[0]?.readinessProbe?.httpGet).toBeDefined();
    }
    expect(template('Deployment', 'triage').spec.serviceAccountName).toBe('hermes-triage');
    expect(template('Deployment', 'executor').spec.serviceAccountName).toBe('hermes-executor');
    for (const name of ['ingest', 'notifier'])
      expect(template('Deployment', name).spec.automountServiceAccountToken).toBe(false);
    expect((find('Deployment', 'triage').spec as { replicas: number }).replicas).toBeGreaterThan(1);
  });

  it('takes tokens from the Secret, and ships a targets file Hermes accepts', () => {
    const secret = Object.keys(find('Secret', 'hermes-secrets').stringData as object);
    expect(secret).toEqual(expect.arrayContaining(['INGEST_TOKEN', 'ADMIN_TOKEN']));
    for (const m of manifests.filter((x) => x.kind === 'Deployment'))
      for (const env of (m.spec as { template: PodTemplate }).template.spec.containers[0]?.env ?? []) {
        const ref = env.valueFrom?.secretKeyRef;
        if (ref) expect(ref.optional || secret.includes(ref.key)).toBe(true);
      }
    const targets = parseTargets(
      (find('ConfigMap', 'hermes-targets').data as { 'targets.yaml': string })['targets.yaml'],
    );
    expect(targets.list).toMatchObject([
      { kind: 'kubernetes', kubernetes: { inCluster: true, namespaces: ['shop'] } },
    ]);
  });
});
