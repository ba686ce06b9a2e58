import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetReads } from '../../services/triage/tools/target-reads.js';
import { IncidentStore } from '../../shared/incidents.js';
import { SshPool } from '../../shared/remote/ssh.js';
import { locate } from '../../shared/targets/scope.js';
import { loadTargets } from '../../shared/targets/targets.js';
import {
  deploymentPods,
  type FakeKubeApi,
  oomCrashLooping,
  shippedRole,
  startFakeKubeApi,
} from '../support/fake-kube-api.js';
import { openIncident } from '../support/incidents.js';
import { openTestRedis, type TestRedis } from '../support/redis.js';
import { prodClusterTarget, writeTargetsFile } from '../support/targets.js';

// Against test/support/fake-kube-api.ts (the API's real shapes), through the official client.

let api: FakeKubeApi;
let t: TestRedis;
let dir: string;
let reads: TargetReads;

beforeAll(async () => {
  api = await startFakeKubeApi();
  // Triage's token may do what deploy/kubernetes/rbac.yaml gives it, and nothing else.
  api.enforce(shippedRole('hermes-triage-read'));
  t = await openTestRedis();
  const targets = writeTargetsFile('kube-reads', [
    prodClusterTarget({ kubeconfig: api.kubeconfig, namespaces: ['shop'] }),
  ]);
  dir = targets.dir;
  reads = new TargetReads(
    loadTargets(targets.file),
    new IncidentStore(t.redis, t.keys),
    new SshPool(),
    2_000,
  );
}, 60_000);

afterAll(async () => {
  reads?.close();
  await api?.close();
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

const podsOf = (name: string) => deploymentPods(api, 'shop', name);

describe('diagnosing a kubernetes workload', () => {
  it("shows a crash-looping pod's previous container log, its OOM kill, and the events", async () => {
    api.addDeployment({ namespace: 'shop', name: 'cart', replicas: 2, pods: 2 });
    api.addDeployment({ namespace: 'shop', name: 'payments', replicas: 1 });
    const [crashing, healthy] = (await podsOf('cart')) as [string, string];
    api.setContainerStatus(
      'shop',
      crashing,
      oomCrashLooping(7, { startedAt: '2026-12-03T09:59:00Z', finishedAt: '2026-12-03T10:00:00Z' }),
    );
    api.setLogs('shop', crashing, {
      current: 'INFO cart starting\n',
      previous: 'INFO cart starting\nERROR cart: out of memory loading catalogue\nINFO shutting down\n',
    });
    api.setLogs('shop', healthy, { current: 'INFO cart ready\nWARN slow query\n' });
    api.addEvent(
      'shop',
      { kind: 'Pod', name: crashing },
      'BackOff',
      'Back-off restarting failed container cart',
    );
    api.addEvent('shop', { kind: 'Pod', name: 'unrelated-0' }, 'BackOff', 'not this incident');

    const incidentId = await openIncident(t, {
      alertname: 'KubePodCrashLooping',
      instance: '10.0.3.7:8080',
      labels: { namespace: 'shop', deployment: 'cart' },
    });
    const scope = await reads.scope(incidentId);
    const located = locate(scope, { resource: 'cart' });
    if (!located.ok) throw new Error(located.reason);
    const placement = located.placement;

    const before = api.requests.length;
    const errors = await reads.logs(placement, 'cart', 20, 'error');
    expect(errors).toEqual([`[${crashing}/cart previous] ERROR cart: out of memory loading catalogue`]);
    const logRequests = api.requests.slice(before).filter((r) => r.path.endsWith('/log'));
    expect(
      logRequests.map((r) => [r.path.split('/')[6], r.query.get('container'), r.query.get('previous')]),
    ).toEqual([
      [crashing, 'cart', 'true'],
      [crashing, 'cart', null],
      [healthy, 'cart', null],
    ]);
    // A level filter reads further back than the lines asked for, then keeps the last ones.
    expect(logRequests.every((r) => r.query.get('tailLines') === '5000')).toBe(true);
    const all = await reads.logs(placement, 'cart', 1, 'all');
    expect(all).toContain(`[${healthy}/cart] WARN slow query`);
    expect(api.requests.at(-1)?.query.get('tailLines')).toBe('1');

    const status = await reads.resources(placement);
    expect(status).toMatchObject({
      source: 'deployment shop/cart on cluster prod',
      rollout: { desired: 2, complete: true, revision: '1' },
    });
    expect(status.pods).toContainEqual({
      name: crashing,
      phase: 'Running',
      ready: false,
      restarts: 7,
      oomKilled: true,
      containers: [
        {
          name: 'cart',
          ready: false,
          restarts: 7,
          state: 'waiting: CrashLoopBackOff',
          lastTermination: { reason: 'OOMKilled', exitCode: 137, finishedAt: '2026-12-03T10:00:00.000Z' },
        },
      ],
    });
    const events = status.events as { reason: string; object: string }[];
    expect(events).toEqual([expect.objectContaining({ reason: 'BackOff', object: `Pod/${crashing}` })]);
    expect(
      api.requests.filter((r) => r.path.endsWith('/events')).map((r) => r.query.get('fieldSelector')),
    ).toEqual(expect.arrayContaining(['involvedObject.name=cart', `involvedObject.name=${crashing}`]));

    expect(await reads.diag(placement, 'rollout')).toMatchObject({ rollout: { desired: 2 } });
    await expect(reads.diag(placement, 'exec')).rejects.toThrow(/not a diagnostic on kubernetes targets/);

    // Another workload in the same namespace is outside the incident: not even locatable.
    expect(locate(scope, { resource: 'payments' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^out of scope/),
    });
    expect(api.requests.some((r) => r.path.includes('payments'))).toBe(false);
  });

  it('reads a pod alert through the pod and its owner; API failures are one clear line', async () => {
    api.addDeployment({ namespace: 'shop', name: 'search', replicas: 1 });
    const [pod] = (await podsOf('search')) as [string];
    const incidentId = await openIncident(t, {
      alertname: 'KubePodNotReady',
      instance: '10.0.3.7:8080',
      labels: { namespace: 'shop', pod },
    });
    const located = locate(await reads.scope(incidentId), {});
    if (!located.ok) throw new Error(located.reason);
    expect(await reads.resources(located.placement)).toMatchObject({
      source: `pod shop/${pod} on cluster prod`,
      rollout: { desired: 1 },
      pods: [{ name: pod }],
    });
    api.deny('get', 'pods/log');
    await expect(reads.logs(located.placement, pod, 10, 'all')).resolves.toEqual([
      expect.stringContaining(
        `(no log: forbidden: the API refused to get pods/log shop/${pod} on cluster prod`,
      ),
    ]);
    api.latencyMs = 2_500;
    await expect(reads.resources(located.placement)).rejects.toThrow(
      `timeout: get pods shop/${pod} on cluster prod got no answer within 2000 ms`,
    );
    api.latencyMs = 0;
  });
});
