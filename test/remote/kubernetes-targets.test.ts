import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { post, startTestIngest } from '../../services/ingest/test/harness.js';
import { RESTARTED_AT } from '../../shared/remote/kubernetes.js';
import type { Level } from '../../shared/schemas/incident.js';
import { type ExecutorHarness, startExecutorHarness } from '../support/executor-harness.js';
import {
  deploymentPods,
  type FakeKubeApi,
  type KubeObject,
  oomCrashLooping,
  shippedRole,
  startFakeKubeApi,
} from '../support/fake-kube-api.js';
import { openIncident, webhookBody } from '../support/incidents.js';
import { prodClusterTarget, writeTargetsFile } from '../support/targets.js';

// No Kubernetes API server can run here: these tests drive the official client against
// test/support/fake-kube-api.ts, which speaks the API's own request and response shapes.

let api: FakeKubeApi;
let configDir: string;
let targetsFile: string;
let h: ExecutorHarness;

beforeAll(async () => {
  api = await startFakeKubeApi();
  // The executor's token may do what deploy/kubernetes/rbac.yaml gives it, and nothing else.
  api.enforce(shippedRole('hermes-executor'));
  ({ dir: configDir, file: targetsFile } = writeTargetsFile('kube-config', [
    prodClusterTarget({
      kubeconfig: api.kubeconfig,
      context: 'fake',
      namespaces: ['shop', 'payments'],
      requestTimeoutSeconds: 2,
    }),
  ]));
}, 60_000);

afterAll(async () => {
  await api?.close();
  rmSync(configDir, { recursive: true, force: true });
});

const start = async (mode: 'live' | 'dry-run' = 'live') => {
  // Each test its own keyspace: limits and the breaker start clean.
  h = await startExecutorHarness({
    mode,
    env: { TARGETS_FILE: targetsFile, POLICY_FILE: 'config/policy.yaml' },
  });
};
afterEach(async () => {
  api.latencyMs = 0;
  api.slow = null;
  await h?.close();
});

let serial = 0;
/** A fresh deployment per test, so tests never see each other's writes. */
function deployment(replicas: number, namespace = 'shop'): KubeObject {
  return api.addDeployment({ namespace, name: `checkout-${++serial}`, replicas });
}
const replicasOf = (d: KubeObject) => (stored(d).spec as { replicas: number }).replicas;
const stored = (d: KubeObject) => api.get('deployments', d.metadata.namespace, d.metadata.name) as KubeObject;
const patchesTo = (d: KubeObject) =>
  api.requests.filter((r) => r.method === 'PATCH' && r.path.includes(`/deployments/${d.metadata.name}`));
/** An alert as kube-state-metrics rules carry it; level 1 unless said otherwise. */
const kubeAlert = (
  d: KubeObject,
  labels: Record<string, string>,
  alertname = 'KubePodCrashLooping',
  /** null: as ingest classifies the alertname. */
  level: Level | null = 1,
) => ({
  alertname,
  ...(level ? { level } : {}),
  instance: '10.0.3.7:8080',
  labels: { namespace: d.metadata.namespace, ...labels },
});

describe('restart_service on a kubernetes target', () => {
  beforeEach(() => start());

  it('restarts the deployment owning a crash-looping pod: dry run first, then the rollout-restart annotation', async () => {
    const d = deployment(3);
    const pod = await firstPod(d);
    const incidentId = await openIncident(h.t, kubeAlert(d, { pod }));
    const before = api.requests.length;
    const outcome = await h.submit({
      incidentId,
      tool: 'restart_service',
      args: { service: pod, host: 'shop', reason: 'crash loop' },
    });
    expect(outcome).toMatchObject({
      decision: 'executed',
      reason: `ran: restart deployment shop/${d.metadata.name} (owner of pod ${pod}) on cluster prod via kubernetes`,
    });
    const annotations = (
      stored(d).spec as {
        template: { metadata: { annotations: Record<string, string> } };
      }
    ).template.metadata.annotations;
    expect(Date.parse(annotations[RESTARTED_AT] as string)).toBeGreaterThan(Date.now() - 60_000);
    const patches = api.requests.slice(before).filter((r) => r.method === 'PATCH');
    expect(patches.map((p) => [p.contentType, p.query.get('dryRun')])).toEqual([
      ['application/strategic-merge-patch+json', 'All'],
      ['application/strategic-merge-patch+json', null],
    ]);
    expect(patches[0]?.body).toEqual(patches[1]?.body);
    expect(patches[1]?.body).toEqual({
      spec: { template: { metadata: { annotations: { [RESTARTED_AT]: annotations[RESTARTED_AT] } } } },
    });
  });

  it("keeps the crash-looping pod's state and previous container's ERROR lines from before the rollout restart", async () => {
    const d = deployment(2);
    const pod = await firstPod(d);
    api.setContainerStatus(
      'shop',
      pod,
      oomCrashLooping(10, { startedAt: '2026-12-07T08:59:00Z', finishedAt: '2026-12-07T09:00:00Z' }),
    );
    api.setLogs('shop', pod, {
      current: 'INFO checkout starting\n',
      previous: 'INFO checkout starting\nERROR checkout: out of memory loading the catalogue\nINFO bye\n',
    });
    const incidentId = await openIncident(h.t, kubeAlert(d, { pod }));
    const outcome = await h.submit({
      incidentId,
      tool: 'restart_service',
      args: { service: pod, host: 'shop', reason: 'crash loop' },
    });
    expect(outcome.decision).toBe('executed');
    expect(outcome.before).toMatchObject({
      status: 'CrashLoopBackOff',
      restartCount: 10,
      exitCode: 137,
      oomKilled: true,
      errorLines: ['ERROR checkout: out of memory loading the catalogue'],
    });
    expect((await h.incidents.getAction(incidentId, outcome.actionId))?.before).toEqual(outcome.before);
  });

  it("counts restarts through any of a deployment's pods against the deployment's limit", async () => {
    const d = deployment(1);
    const outcomes = [];
    for (let n = 0; n < 4; n++) {
      // Each rollout replaces the pods: the next crash-loop alert names a new one.
      const pod = await firstPod(d);
      const incidentId = await openIncident(h.t, kubeAlert(d, { pod }));
      outcomes.push(
        await h.submit({
          incidentId,
          tool: 'restart_service',
          args: { service: pod, host: 'shop', reason: 'crash loop' },
        }),
      );
    }
    expect(outcomes.map((o) => o.decision)).toEqual(['executed', 'executed', 'executed', 'blocked']);
    expect(outcomes[3]?.reason).toBe(
      `Service deployment/${d.metadata.name}@prod/shop restarted 3 times this hour (limit: 3)`,
    );
  });

  it('refuses a workload the incident does not name, and a namespace the target may not touch', async () => {
    const d = deployment(2);
    const other = deployment(2);
    const incidentId = await openIncident(h.t, kubeAlert(d, { deployment: d.metadata.name }));
    const outOfScope = await h.submit({
      incidentId,
      tool: 'restart_service',
      args: { service: other.metadata.name, host: 'shop', reason: 'injected' },
    });
    expect(outOfScope).toMatchObject({
      decision: 'blocked',
      reason: expect.stringMatching(/^out of scope: /),
    });

    api.addDeployment({ namespace: 'kube-system', name: 'coredns', replicas: 2 });
    const elsewhere = await openIncident(h.t, {
      alertname: 'KubeDeploymentReplicasMismatch',
      instance: '10.0.3.7:8080',
      labels: { namespace: 'kube-system', deployment: 'coredns' },
    });
    const refused = await h.submit({
      incidentId: elsewhere,
      tool: 'restart_service',
      args: { service: 'coredns', host: 'kube-system', reason: 'replicas mismatch' },
    });
    expect(refused).toMatchObject({
      decision: 'blocked',
      reason: expect.stringContaining('namespace kube-system is not one it may touch (shop, payments)'),
    });
    expect(patchesTo(other)).toEqual([]);
    expect(api.requests.some((r) => r.path.includes('/namespaces/kube-system/'))).toBe(false);
  });

  it('reports a 403 naming the verb and resource, as a refusal', async () => {
    const d = deployment(2);
    const incidentId = await openIncident(h.t, kubeAlert(d, { deployment: d.metadata.name }));
    api.deny('patch', 'statefulsets');
    const sts = api.addStatefulSet({ namespace: 'shop', name: `ledger-${serial}`, replicas: 3 });
    const stsIncident = await openIncident(h.t, kubeAlert(sts, { statefulset: sts.metadata.name }));
    const outcome = await h.submit({
      incidentId: stsIncident,
      tool: 'restart_service',
      args: { service: sts.metadata.name, host: 'shop', reason: 'stuck' },
    });
    expect(outcome.decision).toBe('blocked');
    expect(outcome.reason).toContain(
      `forbidden: the API refused to patch statefulsets shop/${sts.metadata.name} on cluster prod`,
    );
    expect(outcome.reason).toContain('cannot patch resource "statefulsets"');
    // The deployment is not denied: it still restarts.
    expect(
      (
        await h.submit({
          incidentId,
          tool: 'restart_service',
          args: { service: d.metadata.name, host: 'prod', reason: 'crash loop' },
        })
      ).decision,
    ).toBe('executed');
  });

  it('reports an API that does not answer in time as a timeout, changing nothing', async () => {
    const d = deployment(2);
    const incidentId = await openIncident(h.t, kubeAlert(d, { deployment: d.metadata.name }));
    api.latencyMs = 3_000;
    const outcome = await h.submit({
      incidentId,
      tool: 'restart_service',
      args: { service: d.metadata.name, host: 'shop', reason: 'crash loop' },
    });
    expect(outcome.decision).toBe('failed');
    expect(outcome.reason).toMatch(
      new RegExp(
        `^the server-side dry run failed: timeout: patch deployments shop/${d.metadata.name} on cluster prod got no answer within 2000 ms; nothing was changed$`,
      ),
    );
  });
});

describe('one incident per workload', () => {
  beforeEach(() => start());

  it('keeps two deployments that one kube-state-metrics instance reports apart: each incident restarts only its own', async () => {
    const checkout = deployment(1);
    const payments = deployment(1);
    const pods = [await firstPod(checkout), await firstPod(payments)];
    // Ingest as shipped: the default CORRELATION_LABELS.
    const ingest = await startTestIngest(h.t, { TARGETS_FILE: targetsFile });
    try {
      const response = await post(
        ingest.url,
        webhookBody(
          pods.map((pod) => ({
            alertname: 'KubePodCrashLooping',
            level: 1 as const,
            instance: '10.0.3.7:8080',
            labels: { job: 'kube-state-metrics', namespace: 'shop', pod, container: 'app' },
          })),
        ),
      );
      const { incidents } = (await response.json()) as { incidents: string[] };
      expect(new Set(incidents).size).toBe(2);
      const [first, second] = incidents as [string, string];
      const restart = (incidentId: string, pod: string) =>
        h.submit({
          incidentId,
          tool: 'restart_service',
          args: { service: pod, host: 'shop', reason: 'crash loop' },
        });

      expect(await restart(first, pods[1] as string)).toMatchObject({
        decision: 'blocked',
        reason: expect.stringMatching(/^out of scope: /),
      });
      expect(await restart(second, pods[0] as string)).toMatchObject({
        decision: 'blocked',
        reason: expect.stringMatching(/^out of scope: /),
      });
      expect(patchesTo(checkout)).toEqual([]);
      expect(patchesTo(payments)).toEqual([]);
      expect(await restart(first, pods[0] as string)).toMatchObject({ decision: 'executed' });
      expect(await restart(second, pods[1] as string)).toMatchObject({ decision: 'executed' });
      expect(patchesTo(checkout)).toHaveLength(2); // the dry run, then the change
      expect(patchesTo(payments)).toHaveLength(2);
    } finally {
      await ingest.close();
    }
  });
});

describe('restart_service when the real change times out', () => {
  beforeEach(() => start());

  it('says the outcome is unknown (it may have been applied), never that nothing ran', async () => {
    const d = deployment(2);
    const incidentId = await openIncident(h.t, kubeAlert(d, { deployment: d.metadata.name }));
    api.latencyMs = 3_000;
    api.slow = (request) => request.method === 'PATCH' && !request.query.has('dryRun');
    const outcome = await h.submit({
      incidentId,
      tool: 'restart_service',
      args: { service: d.metadata.name, host: 'shop', reason: 'crash loop' },
    });
    expect(outcome).toMatchObject({
      decision: 'unknown_outcome',
      reason: `timeout: patch deployments shop/${d.metadata.name} on cluster prod got no answer within 2000 ms; it may have been applied`,
    });
  });
});

describe('scale_service on a kubernetes target', () => {
  beforeEach(() => start());

  it('scales from the live count (10 → 11), bounded at +2 above what ran when the incident first scaled it', async () => {
    const d = deployment(10);
    const name = d.metadata.name;
    const incidentId = await openIncident(h.t, kubeAlert(d, { deployment: name }, 'KubeHpaMaxedOut'));
    const scale = (args: Record<string, unknown>) =>
      h.submit({ incidentId, tool: 'scale_service', args: { service: name, ...args } });
    const up = await scale({ delta: 1 });
    expect(up).toMatchObject({
      decision: 'executed',
      reason: `ran: scale deployment shop/${name} 10 → 11 on cluster prod via kubernetes`,
    });
    expect(replicasOf(d)).toBe(11);
    const scalePatches = api.requests.filter(
      (r) => r.method === 'PATCH' && r.path.endsWith(`/${name}/scale`),
    );
    expect(scalePatches.map((p) => [p.contentType, p.query.get('dryRun'), p.body])).toEqual([
      [
        'application/merge-patch+json',
        'All',
        { metadata: { resourceVersion: expect.any(String) }, spec: { replicas: 11 } },
      ],
      [
        'application/merge-patch+json',
        null,
        { metadata: { resourceVersion: expect.any(String) }, spec: { replicas: 11 } },
      ],
    ]);

    // +5 is beyond the policy's argument bound; 15 replicas is beyond the incident's bound.
    expect(await scale({ delta: 5 })).toMatchObject({
      decision: 'blocked',
      reason: expect.stringContaining('delta'),
    });
    expect(await scale({ replicas: 15 })).toMatchObject({
      decision: 'blocked',
      reason: `15 replicas of deployment shop/${name} on cluster prod is more than +2 above the 10 it ran when this incident first asked to scale it`,
    });
    expect((await scale({ delta: 1 })).decision).toBe('executed');
    expect(replicasOf(d)).toBe(12);
    // The bound is from the 10 seen first, not from the 12 running now.
    expect(await scale({ delta: 1 })).toMatchObject({
      decision: 'blocked',
      reason: expect.stringContaining('13 replicas'),
    });
    expect(replicasOf(d)).toBe(12);
    // Down is fine, never below the minimum.
    expect(await scale({ replicas: 0 })).toMatchObject({
      decision: 'blocked',
      reason: expect.stringContaining('below the minimum of 1'),
    });
  });

  it('never scales a 10-replica deployment down when asked for "one more" (the fixed-baseline bug)', async () => {
    const d = deployment(10);
    await scaleUpOne(d);
    expect(replicasOf(d)).toBe(11);
  });

  it('refuses an HPA-managed workload, naming the autoscaler', async () => {
    const d = deployment(4);
    api.addHpa('shop', `${d.metadata.name}-hpa`, { kind: 'Deployment', name: d.metadata.name });
    const outcome = await scaleUpOne(d);
    expect(outcome).toMatchObject({
      decision: 'blocked',
      reason: `deployment shop/${d.metadata.name} on cluster prod is managed by HorizontalPodAutoscaler ${d.metadata.name}-hpa, which would undo a manual scale: change the autoscaler's bounds instead`,
    });
    expect(patchesTo(d)).toEqual([]);
    expect(replicasOf(d)).toBe(4);
  });

  it('fails clearly on a 409 when someone else changed the workload after it was read', async () => {
    const d = deployment(5);
    api.interveneBeforeNextWrite('deployments', 'shop', d.metadata.name);
    const outcome = await scaleUpOne(d);
    expect(outcome.decision).toBe('failed');
    expect(outcome.reason).toContain(
      `conflict: deployments/scale shop/${d.metadata.name} on cluster prod changed since it was read`,
    );
    expect(outcome.reason).toContain('nothing was changed');
    expect(replicasOf(d)).toBe(5);
  });

  it('shows the exact operation and the resulting count on a level-2 approval card', async () => {
    const d = deployment(10);
    const incidentId = await openIncident(h.t, {
      ...kubeAlert(d, { deployment: d.metadata.name }, 'HighLatency', null),
    });
    const outcome = await h.submit({
      incidentId,
      tool: 'scale_service',
      args: { service: d.metadata.name, delta: 1, reason: 'p99 high' },
    });
    expect(outcome.decision).toBe('pending_approval');
    const approval = await h.approvals.get(outcome.approvalId as string);
    expect(approval?.description).toMatch(
      new RegExp(`^scale deployment shop/${d.metadata.name} 10 → 11 on cluster prod via kubernetes`),
    );
    expect(replicasOf(d)).toBe(10);
  });
});

describe('rollback_deployment on a kubernetes target', () => {
  beforeEach(() => start());

  it('asks a human with the exact revisions, then puts back the previous ReplicaSet template', async () => {
    const d = deployment(2);
    const name = d.metadata.name;
    await setImage(d, `registry.example/${name}:2.0.0`);
    const incidentId = await openIncident(h.t, kubeAlert(d, { deployment: name }, 'HighErrorRate'));
    const args = { service: name, reason: 'errors since 2.0.0' };
    const asked = await h.submit({ incidentId, tool: 'rollback_deployment', args });
    expect(asked.decision).toBe('pending_approval');
    const approval = await h.approvals.get(asked.approvalId as string);
    expect(approval?.description).toMatch(
      new RegExp(
        `^roll back deployment shop/${name} from revision 2 \\(registry.example/${name}:2.0.0\\) to revision 1 \\(registry.example/${name}:1.0.0, ReplicaSet ${name}-[a-f0-9]+\\) on cluster prod via kubernetes`,
      ),
    );
    await h.approvals.decide(asked.approvalId as string, 'approved', 'alice');
    const run = await h.submit({
      actionId: `run-${asked.approvalId}`,
      incidentId,
      tool: 'rollback_deployment',
      args,
      approvalId: asked.approvalId,
      requestedBy: 'human:alice',
    });
    expect(run.decision).toBe('executed');
    const now = api.get('deployments', 'shop', name) as KubeObject;
    expect(JSON.stringify(now.spec?.template)).toContain(`registry.example/${name}:1.0.0`);
    expect(now.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    const patches = patchesTo(d).slice(1);
    expect(patches.map((p) => [p.contentType, p.query.get('dryRun')])).toEqual([
      ['application/strategic-merge-patch+json', 'All'],
      ['application/strategic-merge-patch+json', null],
    ]);
  });
});

describe('EXECUTION_MODE=dry-run on a kubernetes target', () => {
  beforeEach(() => start('dry-run'));

  it('asks the API for a server-side dry run, records its answer, and changes nothing', async () => {
    const d = deployment(10);
    const outcome = await scaleUpOne(d);
    expect(outcome).toMatchObject({
      decision: 'dry_run',
      reason: `EXECUTION_MODE=dry-run: would scale deployment shop/${d.metadata.name} 10 → 11 on cluster prod via kubernetes (the server-side dry run accepted it); nothing was run`,
      result: { wouldRun: { dryRunAnswer: { replicas: 11 } } },
    });
    expect(replicasOf(d)).toBe(10);
    expect(patchesTo(d).map((p) => p.query.get('dryRun'))).toEqual(['All']);
  });
});

/** What the executor decides on one more replica of `d`, for a KubeHpaMaxedOut incident on it. */
async function scaleUpOne(d: KubeObject) {
  const incidentId = await openIncident(
    h.t,
    kubeAlert(d, { deployment: d.metadata.name }, 'KubeHpaMaxedOut'),
  );
  return h.submit({ incidentId, tool: 'scale_service', args: { service: d.metadata.name, delta: 1 } });
}

/** The name of one of the deployment's pods, as the official client lists them. */
async function firstPod(d: KubeObject): Promise<string> {
  const [name] = await deploymentPods(api, d.metadata.namespace, d.metadata.name);
  if (!name) throw new Error('no pod');
  return name;
}

/** A new image rolled out by someone (not Hermes): revision 2. */
async function setImage(d: KubeObject, image: string): Promise<void> {
  const response = await fetch(`${api.url}/apis/apps/v1/namespaces/shop/deployments/${d.metadata.name}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/strategic-merge-patch+json', ...api.adminHeaders },
    body: JSON.stringify({
      spec: { template: { spec: { containers: [{ name: d.metadata.name, image }] } } },
    }),
  });
  if (!response.ok) throw new Error(await response.text());
}
