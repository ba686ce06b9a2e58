import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { IngestHandle } from '../../services/ingest/service.js';
import { startTestIngest } from '../../services/ingest/test/harness.js';
import { startTestTriage } from '../../services/triage/test/harness.js';
import { IncidentStore } from '../../shared/incidents.js';
import type { TimelineEntry } from '../../shared/schemas/incident.js';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';
import { type ExecutorHarness, startExecutorHarness } from '../support/executor-harness.js';
import { type FakeKubeApi, type KubeObject, startFakeKubeApi } from '../support/fake-kube-api.js';
import { type Running, startAlertmanager } from '../support/monitoring.js';
import { eventually, openTestRedis, type TestRedis } from '../support/redis.js';
import { writeTargetsFile } from '../support/targets.js';

// The README's Docker and Kubernetes targets, taken from README.md as written (only the socket and
// kubeconfig paths point at the test's dockerd and fake API server), with alerts that carry only
// what those examples' alerts carry: no `service` label. Real Alertmanager, ingest, triage (runbook
// planner) and executor (live, the shipped policy).

/** Every target in the README's YAML examples, by name. */
function readmeTargets(): Map<string, Record<string, unknown>> {
  const readme = readFileSync('README.md', 'utf8');
  const targets = new Map<string, Record<string, unknown>>();
  for (const [, block] of readme.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    const parsed = parse(block as string) as unknown;
    const list = Array.isArray(parsed) ? parsed : (parsed as { targets?: unknown } | null)?.targets;
    if (!Array.isArray(list)) continue;
    for (const target of list as Record<string, unknown>[]) targets.set(String(target.name), target);
  }
  return targets;
}

const TOKEN = 'readme-ingest-token';
/** Stops at once on `docker restart`'s SIGTERM. */
const STOPS_ON_TERM = [
  'sh',
  '-c',
  'trap "exit 0" TERM; echo "ERROR crashy: upstream refused"; sleep 3600 & wait',
];

let t: TestRedis;
let dockerd: TestDockerd;
let api: FakeKubeApi;
let dir: string;
let ingest: IngestHandle;
let alertmanager: Running;
let executor: ExecutorHarness;
let triage: Awaited<ReturnType<typeof startTestTriage>>;

beforeAll(async () => {
  t = await openTestRedis();
  dockerd = await startDockerd();
  api = await startFakeKubeApi();
  const examples = readmeTargets();
  const docker = examples.get('docker-host-1');
  const kubernetes = examples.get('prod') as { kubernetes: Record<string, unknown> } | undefined;
  if (!docker || !kubernetes) throw new Error('the README has no docker-host-1 or prod target');
  const targets = writeTargetsFile('readme', [
    { ...docker, docker: { socketPath: dockerd.socketPath } },
    { ...kubernetes, kubernetes: { ...kubernetes.kubernetes, kubeconfig: api.kubeconfig } },
  ]);
  dir = targets.dir;
  const targetsFile = targets.file;
  ingest = await startTestIngest(t, { TARGETS_FILE: targetsFile, INGEST_TOKEN: TOKEN });
  alertmanager = await startAlertmanager({
    webhookUrl: `${ingest.url}/webhooks/alertmanager`,
    webhookToken: TOKEN,
  });
  executor = await startExecutorHarness({
    t,
    env: { TARGETS_FILE: targetsFile, POLICY_FILE: 'config/policy.yaml' },
  });
  triage = await startTestTriage(t, { PLANNER: 'runbook', TARGETS_FILE: targetsFile });
}, 90_000);

afterAll(async () => {
  await triage?.close();
  await executor?.close();
  alertmanager?.process.kill('SIGTERM');
  await ingest?.close();
  await api?.close();
  await dockerd?.stop();
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Posts one alert to Alertmanager, which groups it and sends it to ingest's webhook. */
async function fire(labels: Record<string, string>): Promise<void> {
  const response = await fetch(`${alertmanager.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ labels, annotations: { summary: `${labels.alertname} in a README example` } }]),
  });
  if (!response.ok) throw new Error(`alertmanager: ${response.status} ${await response.text()}`);
}

/** The incident ingest opened for the alert whose labels include `labels`. */
async function incidentFor(labels: Record<string, string>): Promise<string> {
  const store = new IncidentStore(t.redis, t.keys);
  return eventually(
    async () => {
      for (const { id } of (await store.list({ limit: 100 })).incidents)
        for (const alert of await store.storedAlerts(id))
          if (Object.entries(labels).every(([name, value]) => alert.labels[name] === value)) return id;
      return null;
    },
    `an incident for ${JSON.stringify(labels)}`,
    20_000,
  );
}

/** The runbook's restart_service call, once triage has made it. */
async function restartCall(incidentId: string): Promise<TimelineEntry> {
  const store = new IncidentStore(t.redis, t.keys);
  return eventually(
    async () =>
      (await store.timeline(incidentId)).find(
        (entry) => entry.type === 'tool_call' && entry.tool === 'restart_service',
      ) ?? null,
    `the runbook's restart_service call on ${incidentId}`,
    30_000,
  );
}

describe("the README's target examples, as written", () => {
  it('docker: a ServiceDown alert with only container and instance labels restarts that container', async () => {
    const id = await dockerd.run('crashy', STOPS_ON_TERM);
    const before = (await dockerd.docker.getContainer(id).inspect()).State.StartedAt;
    const labels = { alertname: 'ServiceDown', container: 'crashy', instance: 'docker-host-1' };
    await fire(labels);
    const call = await restartCall(await incidentFor(labels));
    expect(call).toMatchObject({
      args: { service: 'crashy', host: 'docker-host-1' },
      decision: 'executed',
      output: expect.stringContaining('ran: restart container crashy via docker (target docker-host-1)'),
    });
    expect((await dockerd.docker.getContainer(id).inspect()).State.StartedAt).not.toBe(before);
  });

  it('kubernetes: a ServiceDown alert with only namespace, deployment and cluster labels restarts that deployment', async () => {
    const checkout: KubeObject = api.addDeployment({ namespace: 'shop', name: 'checkout', replicas: 2 });
    const labels = { alertname: 'ServiceDown', namespace: 'shop', deployment: 'checkout', cluster: 'prod' };
    await fire(labels);
    const call = await restartCall(await incidentFor(labels));
    expect(call).toMatchObject({
      args: { service: 'checkout', host: 'shop' },
      decision: 'executed',
      output: expect.stringContaining('ran: restart deployment shop/checkout on cluster prod via kubernetes'),
    });
    const patches = api.requests.filter(
      (r) =>
        r.method === 'PATCH' &&
        r.path === `/apis/apps/v1/namespaces/shop/deployments/${checkout.metadata.name}`,
    );
    expect(patches.map((p) => p.query.get('dryRun'))).toEqual(['All', null]);
  });
});
