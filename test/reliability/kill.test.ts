import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { IncidentStore } from '../../shared/incidents.js';
import { keyspace } from '../../shared/keys.js';
import { createQueue, createQueueEvents, QUEUE } from '../../shared/queues.js';
import type { ActionJob, NotificationJob } from '../../shared/schemas/jobs.js';
import { delayed, startFakeOpenAI, text } from '../support/fake-openai.js';
import { startFakePrometheus } from '../support/fake-prometheus.js';
import { openIncident } from '../support/incidents.js';
import { eventually, type TestRedis } from '../support/redis.js';
import { startRedisServer } from '../support/redis-server.js';
import { markerLines, type RunningService, startService, tempDir, writeTestPolicy } from './processes.js';

/**
 * Real processes killed with SIGKILL. BullMQ notices a dead worker's job once its lock (30 s) has
 * expired, so each test waits for real stalled-job recovery; the two run concurrently.
 */
type Cleanups = (() => Promise<void>)[];

async function runCleanups(cleanups: Cleanups): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
}

async function world(tag: string, cleanups: Cleanups) {
  const server = await startRedisServer();
  const dir = tempDir(tag);
  const prefix = `rel${tag}`;
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  const t: TestRedis = { url: server.url, prefix, keys: keyspace(prefix), redis, close: async () => {} };
  const services: RunningService[] = [];
  cleanups.push(async () => {
    for (const service of services) await service.stop();
    redis.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (name: 'triage' | 'executor', env: Record<string, string>) => {
    const service = await startService(name, { REDIS_URL: server.url, HERMES_PREFIX: prefix, ...env });
    services.push(service);
    return service;
  };
  return { t, dir, marker: join(dir, 'runs.log'), store: new IncidentStore(redis, t.keys), start };
}

describe.concurrent('kill -9', () => {
  it('of a triage worker mid-investigation: the incident is picked up again and finishes; no action runs twice', async ({
    onTestFinished,
  }) => {
    const cleanups: Cleanups = [];
    onTestFinished(() => runCleanups(cleanups));
    const w = await world('triage', cleanups);
    let firing = true;
    const prometheus = await startFakePrometheus((query) =>
      firing && query.includes('ServiceDown') ? [{ metric: { service: 'checkout' }, value: 0 }] : [],
    );
    cleanups.push(() => prometheus.close());
    await w.start('executor', { POLICY_FILE: writeTestPolicy(w.dir, w.marker, 0) });
    const triageEnv = {
      PLANNER: 'runbook',
      PROMETHEUS_URL: prometheus.url,
      VERIFY_WINDOW_SECONDS: '300',
      VERIFY_INTERVAL_MS: '200',
    };
    const first = await w.start('triage', triageEnv);
    const id = await openIncident(w.t, {
      alertname: 'ServiceDown',
      service: 'checkout',
      severity: 'critical',
    });

    // The restart ran and triage is now verifying it: kill the worker there.
    await eventually(
      async () => markerLines(w.marker).some((l) => l.startsWith('end')),
      'the restart',
      20_000,
    );
    await eventually(async () => (await w.store.getStatus(id)) === 'verifying', 'verification', 10_000);
    const queriesBefore = prometheus.queries.length;
    await eventually(async () => prometheus.queries.length > queriesBefore, 'a re-check', 10_000);
    await first.crash();
    expect(await w.store.getStatus(id)).toBe('verifying');

    await w.start('triage', triageEnv);
    firing = false;
    await eventually(
      async () => (await w.store.getStatus(id)) === 'resolved',
      'the incident resolved',
      100_000,
    );

    const incident = await w.store.get(id);
    const executed = incident?.actions.filter(
      (a) => a.tool === 'restart_service' && a.decision === 'executed',
    );
    expect(markerLines(w.marker).filter((l) => l.startsWith('start'))).toEqual(['start checkout']);
    expect(executed).toHaveLength(1);
  }, 150_000);

  it('of a triage worker whose action still waits for an executor: asked again under the same id, run once', async ({
    onTestFinished,
  }) => {
    const cleanups: Cleanups = [];
    onTestFinished(() => runCleanups(cleanups));
    const w = await world('undecided', cleanups);
    const actions = createQueue<ActionJob>(QUEUE.agentActions, w.t.redis, w.t.keys.bullPrefix);
    const eventsConnection = w.t.redis.duplicate();
    const events = createQueueEvents(QUEUE.agentActions, eventsConnection, w.t.keys.bullPrefix);
    await events.waitUntilReady();
    const duplicated: string[] = [];
    events.on('duplicated', ({ jobId }) => duplicated.push(jobId));
    cleanups.push(async () => {
      await Promise.all([actions.close(), events.close()]);
      eventsConnection.disconnect();
    });
    // No executor yet (it is down, or far behind): the restart triage asks for waits in the queue.
    const triageEnv = { PLANNER: 'runbook', ACTION_TIMEOUT_MS: '120000', VERIFY_WINDOW_SECONDS: '0' };
    const first = await w.start('triage', triageEnv);
    const id = await openIncident(w.t, { alertname: 'ServiceDown', service: 'orders', severity: 'critical' });
    const [waiting] = await eventually(
      async () => {
        const jobs = await actions.getJobs(['waiting', 'prioritized']);
        return jobs.length > 0 ? jobs : undefined;
      },
      'the restart request',
      20_000,
    );
    await first.crash();

    // The next triage process resumes the investigation once the dead worker's lock expires, and asks
    // for the restart again: the same action id, so the queue still holds one request.
    await w.start('triage', triageEnv);
    await eventually(async () => duplicated.includes(String(waiting?.id)), 'the same request again', 100_000);
    expect(await actions.getJobs(['waiting', 'prioritized'])).toHaveLength(1);

    await w.start('executor', { POLICY_FILE: writeTestPolicy(w.dir, w.marker, 0) });
    await eventually(
      async () => ['resolved', 'escalated'].includes(String(await w.store.getStatus(id))),
      'the investigation to finish',
      30_000,
    );
    expect(markerLines(w.marker).filter((l) => l.startsWith('start'))).toEqual(['start orders']);
    const incident = await w.store.get(id);
    expect(incident?.actions.filter((a) => a.tool === 'restart_service')).toHaveLength(1);
  }, 150_000);

  it('of the executor mid-action: the action is marked unknown_outcome, not re-run, and humans are told', async ({
    onTestFinished,
  }) => {
    const cleanups: Cleanups = [];
    onTestFinished(() => runCleanups(cleanups));
    const w = await world('executor', cleanups);
    const actions = createQueue<ActionJob>(QUEUE.agentActions, w.t.redis, w.t.keys.bullPrefix);
    const notifications = createQueue<NotificationJob>(
      QUEUE.notifications.triage,
      w.t.redis,
      w.t.keys.bullPrefix,
    );
    cleanups.push(async () => {
      await Promise.all([actions.close(), notifications.close()]);
    });
    const policy = writeTestPolicy(w.dir, w.marker, 15);
    const first = await w.start('executor', { POLICY_FILE: policy });
    await w.start('triage', { PLANNER: 'runbook', ACTION_TIMEOUT_MS: '120000', VERIFY_WINDOW_SECONDS: '0' });
    const id = await openIncident(w.t, {
      alertname: 'ServiceDown',
      service: 'payments',
      severity: 'critical',
    });

    await eventually(async () => markerLines(w.marker).length > 0, 'the restart to start', 20_000);
    const [action] = await actions.getJobs(['active']);
    expect(action?.data.tool).toBe('restart_service');
    await first.crash();
    await w.start('executor', { POLICY_FILE: policy });
    const settled = await eventually(
      async () => {
        const record = await w.store.getAction(id, String(action?.id));
        return record?.decision === 'unknown_outcome' ? record : undefined;
      },
      'unknown_outcome after stalled-job recovery',
      100_000,
    );
    expect(settled.reason).toMatch(/did not report back; not run again/);
    await eventually(async () => (await w.store.getStatus(id)) === 'escalated', 'escalation', 20_000);

    // Triage queues the notification right after it changes the status: wait for it too.
    const escalatedJobs = async () =>
      (await notifications.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed'])).filter(
        (j) => j.data.incidentId === id && j.data.event === 'escalated',
      );
    await eventually(async () => (await escalatedJobs()).length > 0, 'the escalation notification', 10_000);
    const escalated = await escalatedJobs();
    expect(escalated).toHaveLength(1);
    expect(escalated[0]?.data.severity).toBe('critical');
    // The orphaned first run may still finish by itself; it was never started a second time.
    expect(markerLines(w.marker).filter((l) => l.startsWith('start'))).toEqual(['start payments']);
  }, 150_000);
});

describe('a triage job that cannot finish', () => {
  it('killed twice mid-investigation: BullMQ gives up on the stalled job, the incident fails and humans are told', async ({
    onTestFinished,
  }) => {
    const cleanups: Cleanups = [];
    onTestFinished(() => runCleanups(cleanups));
    const w = await world('stalled', cleanups);
    // A model that never answers in time: each triage process hangs in the investigation until killed.
    const model = await startFakeOpenAI(() => delayed(120_000, text('too late')));
    cleanups.push(() => model.close());
    const triageEnv = {
      PLANNER: 'llm',
      HERMES_BASE_URL: model.url,
      HERMES_MODEL: 'fake-hermes',
      LLM_REQUEST_TIMEOUT_MS: '120000',
      LLM_WALL_CLOCK_SECONDS: '300',
      LLM_MAX_RETRIES: '0',
      TRIAGE_LOCK_SECONDS: '2',
    };
    const id = await openIncident(w.t, { alertname: 'ServiceDown', service: 'checkout' });
    for (let kill = 1; kill <= 2; kill++) {
      const worker = await w.start('triage', triageEnv);
      await eventually(async () => model.requests.length >= kill, `investigation ${kill} to start`, 30_000);
      await worker.crash();
      expect(await w.store.getStatus(id)).toBe('diagnosing');
    }
    // The next worker finds the job stalled past BullMQ's limit and fails it; the incident follows.
    await w.start('triage', triageEnv);
    const incident = await eventually(
      async () => {
        const found = await w.store.get(id);
        return found?.status === 'failed' ? found : undefined;
      },
      'the incident to fail',
      60_000,
    );
    expect(incident.timeline.at(-1)?.message).toMatch(
      /^triage failed: job stalled more than allowable limit/,
    );
    const notifications = createQueue<NotificationJob>(
      QUEUE.notifications.triage,
      w.t.redis,
      w.t.keys.bullPrefix,
    );
    cleanups.push(() => notifications.close());
    // The status and its notice are recorded together; the notice is queued right after.
    const failedNotices = await eventually(
      async () => {
        const jobs = await notifications.getJobs([
          'waiting',
          'prioritized',
          'delayed',
          'active',
          'completed',
        ]);
        const found = jobs.map((j) => j.data).filter((n) => n.incidentId === id && n.event === 'failed');
        return found.length > 0 ? found : undefined;
      },
      'the failed notice',
      10_000,
    );
    expect(failedNotices).toHaveLength(1);
  }, 120_000);

  it('removed from the queue mid-investigation: the sweep fails the incident and humans are told', async ({
    onTestFinished,
  }) => {
    const cleanups: Cleanups = [];
    onTestFinished(() => runCleanups(cleanups));
    const w = await world('removed', cleanups);
    const model = await startFakeOpenAI(() => delayed(120_000, text('too late')));
    cleanups.push(() => model.close());
    const worker = await w.start('triage', {
      PLANNER: 'llm',
      HERMES_BASE_URL: model.url,
      HERMES_MODEL: 'fake-hermes',
      LLM_REQUEST_TIMEOUT_MS: '120000',
      LLM_MAX_RETRIES: '0',
      TRIAGE_LOCK_SECONDS: '1',
    });
    const id = await openIncident(w.t, { alertname: 'ServiceDown', service: 'checkout' });
    await eventually(async () => model.requests.length >= 1, 'the investigation to start', 30_000);
    // An operator removes the job (Bull Board's "clean"): kill the worker holding it first.
    await worker.crash();
    const triage = createQueue(QUEUE.triage, w.t.redis, w.t.keys.bullPrefix);
    cleanups.push(() => triage.close());
    await eventually(
      async () =>
        (await triage.getJobState(`triage-${id}`)) === 'active' &&
        (await triage.remove(`triage-${id}`)) === 1,
      'the job to be removable',
      30_000,
    );
    await w.start('triage', { TRIAGE_LOCK_SECONDS: '1' });
    const incident = await eventually(
      async () => {
        const found = await w.store.get(id);
        return found?.status === 'failed' ? found : undefined;
      },
      'the sweep to fail the incident',
      30_000,
    );
    expect(incident.timeline.at(-1)?.message).toBe(
      'triage failed: its triage job was removed from the queue while the incident was still diagnosing',
    );
  }, 90_000);
});
