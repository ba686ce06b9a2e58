import { afterAll, beforeAll, expect, it } from 'vitest';
import { TargetReads } from '../../services/triage/tools/target-reads.js';
import { IncidentStore } from '../../shared/incidents.js';
import { SshPool } from '../../shared/remote/ssh.js';
import { locate } from '../../shared/targets/scope.js';
import { parseTargets } from '../../shared/targets/targets.js';
import { type FakeKubeApi, startFakeKubeApi } from '../support/fake-kube-api.js';
import { openIncident } from '../support/incidents.js';
import { openTestRedis, type TestRedis } from '../support/redis.js';
import { prodClusterTarget, targetsYaml } from '../support/targets.js';

// A Kubernetes target keeps its name while a reloaded TARGETS_FILE points it at another cluster:
// the next read must go to the new cluster, not to a client made for the old settings.

let before: FakeKubeApi;
let after: FakeKubeApi;
let t: TestRedis;

const prodOn = (api: FakeKubeApi) =>
  parseTargets(targetsYaml([prodClusterTarget({ kubeconfig: api.kubeconfig, namespaces: ['shop'] })]));

beforeAll(async () => {
  [before, after] = await Promise.all([startFakeKubeApi(), startFakeKubeApi()]);
  for (const api of [before, after]) api.addDeployment({ namespace: 'shop', name: 'cart', replicas: 1 });
  t = await openTestRedis();
});
afterAll(async () => {
  await Promise.all([before?.close(), after?.close()]);
  await t?.close();
});

it('reads from the cluster the reloaded file names', async () => {
  const targets = prodOn(before);
  const reads = new TargetReads(targets, new IncidentStore(t.redis, t.keys), new SshPool(), 2_000);
  try {
    const incidentId = await openIncident(t, {
      alertname: 'KubePodCrashLooping',
      labels: { namespace: 'shop', deployment: 'cart' },
    });
    const read = async () => {
      const located = locate(await reads.scope(incidentId), { resource: 'cart' });
      if (!located.ok) throw new Error(located.reason);
      return reads.logs(located.placement, 'cart', 5, 'all');
    };
    await read();
    const counts = () => [before.requests.length, after.requests.length];
    const [old] = counts();
    expect(old).toBeGreaterThan(0);

    targets.adopt(prodOn(after));
    await read();
    expect(counts()[0]).toBe(old);
    expect(counts()[1]).toBeGreaterThan(0);
  } finally {
    reads.close();
  }
});
