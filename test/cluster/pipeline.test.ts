import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { executorEnvSchema } from '../../services/executor/env.js';
import { startExecutor } from '../../services/executor/service.js';
import { ingestEnvSchema } from '../../services/ingest/env.js';
import { type IngestHandle, startIngest } from '../../services/ingest/service.js';
import { notifierEnvSchema } from '../../services/notifier/env.js';
import { startNotifier } from '../../services/notifier/service.js';
import { triageEnvSchema } from '../../services/triage/env.js';
import { startTriage } from '../../services/triage/service.js';
import { parseEnv } from '../../shared/env.js';
import { IncidentStore } from '../../shared/incidents.js';
import { keyspace } from '../../shared/keys.js';
import { createLogger } from '../../shared/logger.js';
import { createRedis } from '../../shared/redis.js';
import type { Incident } from '../../shared/schemas/incident.js';
import { type FakePrometheus, startFakePrometheus } from '../support/fake-prometheus.js';
import { webhookBody } from '../support/incidents.js';
import { eventually, uniquePrefix } from '../support/redis.js';
import { LOCAL_TARGETS } from '../support/targets.js';
import { type LocalCluster, startRedisCluster } from './redis-cluster.js';

const TOKEN = 'cluster-ingest-token';
const silent = () => createLogger('cluster-test', 'silent');

let cluster: LocalCluster;
let dir: string;
let prometheus: FakePrometheus;
let ingest: IngestHandle;
let redis: Cluster;
const prefix = uniquePrefix();
const keys = keyspace(prefix);
const closers: { close(): Promise<void> }[] = [];

/** restart_service runs a real, harmless process that records what it was asked to restart. */
function writePolicy(marker: string): string {
  const recorder = join(dir, 'restart.mjs');
  writeFileSync(
    recorder,
    "import { appendFileSync } from 'node:fs';\nappendFileSync(process.argv[2], process.argv[3] + '\\n');\n",
  );
  const policy = parse(readFileSync(resolve('config/policy.yaml'), 'utf8'));
  policy.tools.restart_service.backend.argv = [process.execPath, recorder, marker, '{service}'];
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, stringify(policy));
  return file;
}

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  dir = mkdtempSync(join(tmpdir(), 'hermes-cluster-'));
  // Prometheus answers every query with no series: the alert expression has cleared after the fix.
  prometheus = await startFakePrometheus(() => []);
  const common = {
    REDIS_CLUSTER_NODES: cluster.nodeList,
    HERMES_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    TARGETS_FILE: LOCAL_TARGETS,
  };
  ingest = await startIngest(
    parseEnv(ingestEnvSchema, { ...common, PORT: '0', HOST: '127.0.0.1', INGEST_TOKEN: TOKEN }),
    { logger: silent() },
  );
  closers.push(ingest);
  closers.push(
    await startExecutor(
      parseEnv(executorEnvSchema, {
        ...common,
        EXECUTION_MODE: 'live',
        POLICY_FILE: writePolicy(join(dir, 'restarts.log')),
      }),
      { logger: silent() },
    ),
  );
  closers.push(await startNotifier(parseEnv(notifierEnvSchema, common), { logger: silent() }));
  closers.push(
    await startTriage(
      parseEnv(triageEnvSchema, {
        ...common,
        PLANNER: 'runbook',
        PROMETHEUS_URL: prometheus.url,
        VERIFY_WINDOW_SECONDS: '10',
        VERIFY_INTERVAL_MS: '200',
      }),
      { logger: silent() },
    ),
  );
  redis = createRedis({ REDIS_CLUSTER_NODES: cluster.nodeList }, 'blocking') as Cluster;
}, 90_000);

afterAll(async () => {
  for (const service of closers.reverse()) await service.close();
  redis?.disconnect();
  await prometheus?.close();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function post(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${ingest.url}/webhooks/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('on a 3-node Redis Cluster', () => {
  it('runs ingest → triage → executor → notifier until the incident is fixed', async () => {
    const body = webhookBody([
      { alertname: 'ServiceDown', severity: 'critical', service: 'checkout', instance: 'app-1:9100' },
    ]);
    const first = await post(body);
    expect(first.status).toBe(202);
    expect(first.json).toMatchObject({ accepted: 1, duplicates: 0 });
    const incidentId = (first.json.incidents as string[])[0] as string;
    // Alertmanager's retry of the same webhook is a duplicate, on a cluster as on one Redis.
    expect((await post(body)).json).toMatchObject({ accepted: 0, duplicates: 1, incidents: [incidentId] });

    const store = new IncidentStore(redis, keys);
    const fixed = await eventually(
      async () => {
        const incident = await store.get(incidentId);
        const delivered = incident?.timeline.some(
          (entry) => entry.type === 'notification' && entry.event === 'fixed' && entry.channel === 'console',
        );
        return incident?.status === 'resolved' && delivered ? incident : null;
      },
      'the incident to be fixed, verified and announced',
      30_000,
    );
    expect(fixed).toMatchObject<Partial<Incident>>({ level: 1, alertCount: 1, service: 'checkout' });
    expect(fixed.actions).toEqual([
      expect.objectContaining({ tool: 'restart_service', decision: 'executed', args: expect.anything() }),
    ]);
    expect(readFileSync(join(dir, 'restarts.log'), 'utf8')).toBe('checkout\n');
    expect(fixed.timeline.map((entry) => entry.type)).toEqual(
      expect.arrayContaining(['alert', 'status', 'tool_call', 'action', 'summary', 'notification']),
    );

    // The API answers from the cluster too.
    const listed = (await (await fetch(`${ingest.url}/api/incidents?status=resolved`)).json()) as {
      incidents: { id: string }[];
    };
    expect(listed.incidents.map((incident) => incident.id)).toEqual([incidentId]);

    // The executor's audit chain verifies on the cluster.
    const audit = (await (await fetch(`${ingest.url}/api/audit/verify`)).json()) as {
      ok: boolean;
      entries: number;
    };
    expect(audit.ok).toBe(true);
    expect(audit.entries).toBeGreaterThanOrEqual(1);
  });

  it('keeps every key of the prefix in the one slot of its hash tag', async () => {
    const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', `{${prefix}}`));
    const perNode = await Promise.all(
      redis.nodes('master').map(async (node) => {
        const found: string[] = [];
        let cursor = '0';
        do {
          const [next, batch] = await node.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
          cursor = next;
          found.push(...batch);
        } while (cursor !== '0');
        return found;
      }),
    );
    const all = perNode.flat();
    expect(all.length).toBeGreaterThan(10);
    expect(perNode.filter((found) => found.length > 0)).toHaveLength(1);
    const slots = new Set(await Promise.all(all.map((key) => redis.call('CLUSTER', 'KEYSLOT', key))));
    expect([...slots]).toEqual([slot]);
  });
});
