import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { parse, stringify } from 'yaml';
import { randomId } from '../shared/ids.js';
import { keyspace } from '../shared/keys.js';
import { QUEUE } from '../shared/queues.js';
import { DockerTarget } from '../shared/remote/docker.js';
import { type SshEndpoint, SshPool } from '../shared/remote/ssh.js';
import type { ActionJob, ActionOutcome } from '../shared/schemas/jobs.js';
import { startDockerd } from '../test/support/dockerd.js';
import { openIncident } from '../test/support/incidents.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { fleetTargets, type SshTestFleet, startSshFleet } from '../test/support/ssh-hosts.js';
import { percentile, spawnService, waitForWorkers } from './services.js';

export interface Latency {
  p50Ms: number;
  p99Ms: number;
  n: number;
}

export interface RemoteActions {
  sshWarm: Latency;
  sshCold: Latency;
  docker: Latency;
  /** Action job queued → executor's outcome, restarting over a warm SSH connection. */
  executorSsh: Latency;
  fleet: { targets: number; actions: number; seconds: number; perSecond: number; executed: number };
}

const TARGETS = 20;
const WARM = 200;
const COLD = 50;
const DOCKER = 30;
const THROUGH_EXECUTOR = 100;
const FLEET_ACTIONS_PER_TARGET = 10;

function latency(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), n: sorted.length };
}

async function timed(n: number, run: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return samples;
}

/**
 * Remote actions against real parts: 20 sshd hosts running hermes-remote (restart of a demo unit)
 * and a real dockerd. Raw client latency (warm pooled connection, cold connection per action,
 * Docker restart), then through a live executor process: one action at a time, and 200 actions
 * across the 20 targets at the executor's default concurrency.
 */
export async function benchRemoteActions(): Promise<RemoteActions> {
  const fleet = await startSshFleet({ hosts: TARGETS, units: ['api-gateway'] });
  const dockerd = await startDockerd();
  const dir = mkdtempSync(join(tmpdir(), 'hermes-bench-remote-'));
  try {
    const [first] = fleet.hosts;
    if (!first) throw new Error('no SSH host');
    const endpoint: SshEndpoint = {
      host: first.address,
      port: first.port,
      user: 'root',
      knownHostsPath: fleet.knownHostsPath,
      keyPath: fleet.writeKeyPath,
      connectTimeoutMs: 5_000,
    };
    const pool = new SshPool();
    await timed(10, () => pool.exec(endpoint, 'restart api-gateway', 10_000));
    const sshWarm = latency(await timed(WARM, () => pool.exec(endpoint, 'restart api-gateway', 10_000)));
    pool.close();
    const sshCold = latency(
      await timed(COLD, async () => {
        const fresh = new SshPool();
        await fresh.exec(endpoint, 'restart api-gateway', 10_000);
        fresh.close();
      }),
    );

    // PID 1 of a container ignores SIGTERM unless it traps it: this one exits at once, like a real service.
    await dockerd.run('bench-web', ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], { restart: 'no' });
    const docker = new DockerTarget({ socketPath: dockerd.socketPath });
    const dockerLatency = latency(await timed(DOCKER, () => docker.restart('bench-web')));
    docker.close();

    const through = await throughExecutor(fleet, dir);
    return { sshWarm, sshCold, docker: dockerLatency, ...through };
  } finally {
    await dockerd.stop();
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function throughExecutor(
  fleet: SshTestFleet,
  dir: string,
): Promise<Pick<RemoteActions, 'executorSsh' | 'fleet'>> {
  const redisServer = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'everysec']);
  const prefix = 'remotebench';
  const keys = keyspace(prefix);
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const policy = parse(readFileSync(resolve(import.meta.dirname, '../config/policy.yaml'), 'utf8'));
  policy.limits.stateChangesPerHour = 1_000_000;
  policy.tools.restart_service.rateLimit.max = 1_000_000;
  writeFileSync(join(dir, 'policy.yaml'), stringify(policy));
  writeFileSync(
    join(dir, 'targets.yaml'),
    stringify({
      version: 1,
      targets: fleetTargets(fleet),
    }),
  );
  const executor = await spawnService('executor', {
    REDIS_URL: redisServer.url,
    HERMES_PREFIX: prefix,
    LOG_LEVEL: 'error',
    EXECUTION_MODE: 'live',
    POLICY_FILE: join(dir, 'policy.yaml'),
    TARGETS_FILE: join(dir, 'targets.yaml'),
  });
  const actions = new Queue<ActionJob>(QUEUE.agentActions, { connection: redis, prefix: keys.bullPrefix });
  const events = new QueueEvents(QUEUE.agentActions, {
    connection: { url: redisServer.url },
    prefix: keys.bullPrefix,
  });
  try {
    await events.waitUntilReady();
    await waitForWorkers(actions, 1);
    const t = { url: redisServer.url, prefix, keys, redis, close: async () => {} };
    const incidents = await Promise.all(
      fleet.hosts.map((host) =>
        openIncident(t, {
          alertname: 'ServiceDown',
          instance: `${host.address}:9100`,
          service: 'api-gateway',
          level: 1,
        }),
      ),
    );
    const job = (i: number): ActionJob => {
      const host = fleet.hosts[i % fleet.hosts.length] as SshTestFleet['hosts'][0];
      return {
        actionId: randomId('act'),
        incidentId: incidents[i % incidents.length] as string,
        tool: 'restart_service',
        args: { service: 'api-gateway', host: host.address, reason: 'bench' },
        requestedBy: 'agent',
      };
    };
    const submit = async (data: ActionJob) => {
      const added = await actions.add('action', data, { jobId: data.actionId });
      const outcome = (await added.waitUntilFinished(events, 30_000)) as ActionOutcome;
      if (outcome.decision !== 'executed')
        throw new Error(`bench action ${outcome.decision}: ${outcome.reason}`);
    };
    await timed(10, () => submit(job(0)));
    const executorSsh = latency(await timed(THROUGH_EXECUTOR, () => submit(job(0))));

    const total = TARGETS * FLEET_ACTIONS_PER_TARGET;
    const queued = Array.from({ length: total }, (_, i) => job(i));
    const before = await actions.getJobCounts('completed', 'failed');
    const started = performance.now();
    await actions.addBulk(queued.map((data) => ({ name: 'action', data, opts: { jobId: data.actionId } })));
    const deadline = Date.now() + 300_000;
    for (;;) {
      const counts = await actions.getJobCounts('completed', 'failed');
      const done =
        (counts.completed ?? 0) + (counts.failed ?? 0) - (before.completed ?? 0) - (before.failed ?? 0);
      if (done >= total) break;
      if (Date.now() > deadline) throw new Error(`executor did not finish: ${JSON.stringify(counts)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    const restarts = fleet.hosts.reduce((sum, host) => sum + host.restarts('api-gateway'), 0);
    return {
      executorSsh,
      fleet: {
        targets: TARGETS,
        actions: total,
        seconds,
        perSecond: total / seconds,
        executed: restarts - (10 + THROUGH_EXECUTOR) - (WARM + COLD + 10),
      },
    };
  } finally {
    await executor.stop();
    await events.close();
    await actions.close();
    redis.disconnect();
    await redisServer.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  console.log(JSON.stringify(await benchRemoteActions(), null, 2));
