import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IncidentStore } from '../../../shared/incidents.js';
import { scriptKeyLayout } from '../../../shared/keys.js';
import { createLogger } from '../../../shared/logger.js';
import { loadLua } from '../../../shared/lua.js';
import { resolvedNotice } from '../../../shared/notices.js';
import { NotificationOutbox } from '../../../shared/outbox.js';
import { createQueue, QUEUE, triageJobId } from '../../../shared/queues.js';
import type { RedisConnection } from '../../../shared/redis.js';
import { StorageChangedError } from '../../../shared/redis-errors.js';
import type { Alert } from '../../../shared/schemas/alertmanager.js';
import type { NotificationJob, TriageJob } from '../../../shared/schemas/jobs.js';
import { storedAlertSchema } from '../../../shared/schemas/stored-alert.js';
import { webhookBody } from '../../../test/support/incidents.js';
import { openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import { createClassifier } from '../classify.js';
import { createCorrelator } from '../correlation.js';
import { Intake, type IntakeSettings } from '../intake.js';

const intakeScript = loadLua(new URL('../lua/intake-7.lua', import.meta.url));

let t: TestRedis;
beforeEach(async () => {
  t = await openTestRedis();
});
afterEach(async () => {
  await t.close();
});

function intakeOn(redis: RedisConnection, settings: Partial<IntakeSettings> = {}) {
  const triage = createQueue<TriageJob>(QUEUE.triage, t.redis, t.keys.bullPrefix);
  const notifications = createQueue<NotificationJob>(QUEUE.notifications.ingest, t.redis, t.keys.bullPrefix);
  const intake = new Intake({
    redis,
    keys: t.keys,
    triageQueue: triage,
    notificationQueue: notifications,
    classifier: createClassifier(),
    correlate: createCorrelator('alertname,instance'),
    settings: {
      stormThreshold: 50,
      stormWindowSeconds: 60,
      stormTriageBudget: 20,
      dedupTtlSeconds: 3600,
      dedupCacheSize: 1000,
      timelineAlertCap: 50,
      ...settings,
    },
  });
  return { intake, close: () => Promise.all([triage.close(), notifications.close()]) };
}

it('re-queues the triage job and the announcement when a retried webhook finds its incident stored but never queued', async () => {
  const { intake, close } = intakeOn(t.redis);
  const triage = createQueue<TriageJob>(QUEUE.triage, t.redis, t.keys.bullPrefix);
  const notifications = createQueue<NotificationJob>(QUEUE.notifications.ingest, t.redis, t.keys.bullPrefix);
  try {
    const body = webhookBody([{ alertname: 'ServiceDown', instance: 'a', fingerprint: 'q1' }]);
    const [id] = (await intake.ingest(body)).incidents;
    // As if ingest had crashed between storing the incident and queueing its jobs: the retry reaches
    // another (or a restarted) process, which remembers nothing.
    await (await triage.getJob(triageJobId(id as string)))?.remove();
    await (await notifications.getJob(`opened-${id}`))?.remove();
    expect(await triage.getJob(triageJobId(id as string))).toBeUndefined();
    const restarted = intakeOn(t.redis);
    expect(await restarted.intake.ingest(body)).toMatchObject({ accepted: 0, duplicates: 1 });
    expect((await triage.getJob(triageJobId(id as string)))?.data).toEqual({
      incidentId: id,
      trigger: 'alert',
    });
    expect((await notifications.getJob(`opened-${id}`))?.data).toMatchObject({
      incidentId: id,
      event: 'incident_opened',
      title: 'New level 1 incident: ServiceDown',
    });
    // While the job exists, re-sends leave it alone.
    const before = await triage.getJobCounts();
    await intakeOn(t.redis).intake.ingest(body);
    expect(await triage.getJobCounts()).toEqual(before);
    await restarted.close();
  } finally {
    await Promise.all([triage.close(), notifications.close()]);
    await close();
  }
});

type Evalsha = (...args: unknown[]) => Promise<unknown>;

/** The connection with its EVALSHA (what runs the intake script) wrapped by `around`. */
function aroundScript(redis: RedisConnection, around: (run: Evalsha, args: unknown[]) => Promise<unknown>) {
  return new Proxy(redis, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop === 'evalsha') return (...args: unknown[]) => around(value.bind(target), args);
      return value.bind(target);
    },
  });
}

/** A ServiceDown alert; with the correlator above, alerts on one instance are one group. */
function serviceDown(instance: string, fingerprint: string, startsAt: string) {
  return { alertname: 'ServiceDown', instance, fingerprint, startsAt };
}

/** Counts the commands an Intake sends, by name. */
function counting(redis: RedisConnection) {
  const calls: Record<string, number> = {};
  const proxy = new Proxy(redis, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  });
  return { proxy, calls };
}

it('answers re-sends of alerts it recorded without reading their records or running the script', async () => {
  const { proxy, calls } = counting(t.redis);
  const { intake, close } = intakeOn(proxy);
  try {
    const body = webhookBody([
      { alertname: 'ServiceDown', instance: 'a', fingerprint: 'c1' },
      { alertname: 'ServiceDown', instance: 'b', fingerprint: 'c2' },
    ]);
    const first = await intake.ingest(body);
    expect(first).toMatchObject({ accepted: 2, duplicates: 0 });
    for (const key of Object.keys(calls)) delete calls[key];

    const again = await intake.ingest(body);
    expect(again).toMatchObject({ accepted: 0, duplicates: 2, incidents: first.incidents });
    // One read of Redis' epoch (is memory still about this Redis?), no script.
    expect(calls).toEqual({ get: 1 });
    const store = new IncidentStore(t.redis, t.keys);
    expect((await store.get(first.incidents[0] as string))?.alertCount).toBe(1);
  } finally {
    await close();
  }
});

it('tells episodes apart by their whole startsAt, escaped and non-ASCII characters included', async () => {
  // No memory of recent alerts: Redis decides every time.
  const { intake, close } = intakeOn(t.redis, { dedupCacheSize: 0 });
  try {
    for (const [k, startsAt] of ['2024-05-01T10:00:00Z', 'a"b\\c"d\\e"f', 'ünïcode ✓ \u0001'].entries()) {
      const first = serviceDown('x', `ep${k}`, startsAt);
      expect(await intake.ingest(webhookBody([first]))).toMatchObject({ accepted: 1 });
      expect(await intake.ingest(webhookBody([first]))).toMatchObject({ accepted: 0, duplicates: 1 });
      // Only the last character differs: another episode.
      const next = serviceDown('x', `ep${k}`, `${startsAt.slice(0, -1)}#`);
      expect(await intake.ingest(webhookBody([next]))).toMatchObject({ accepted: 1 });
    }
  } finally {
    await close();
  }
});

it('remembers an alert for one to two DEDUP_TTL_SECONDS periods after its group last sent one', async () => {
  const hourMs = 3600_000;
  let shiftMs = 0;
  // The script's clock (ARGV[3], now in ms) moved forward by shiftMs.
  const later = aroundScript(t.redis, (run, args) => {
    // evalsha(sha, numkeys, ...KEYS, ...ARGV): ARGV[3] is now in ms.
    const shifted = [...args];
    const nowMs = 2 + Number(args[1]) + 2;
    shifted[nowMs] = String(Number(args[nowMs]) + shiftMs);
    return run(...shifted);
  });
  const { intake, close } = intakeOn(later, { dedupTtlSeconds: 3600, dedupCacheSize: 0 });
  try {
    const body = webhookBody([{ alertname: 'ServiceDown', instance: 'a', fingerprint: 'p1' }]);
    expect(await intake.ingest(body)).toMatchObject({ accepted: 1 });
    // Re-sent an hour later: still known, and carried into that hour's period.
    shiftMs = hourMs;
    expect(await intake.ingest(body)).toMatchObject({ accepted: 0, duplicates: 1 });
    shiftMs = 2 * hourMs;
    expect(await intake.ingest(body)).toMatchObject({ accepted: 0, duplicates: 1 });
    // Not sent for two whole periods: forgotten, so it is news again.
    shiftMs = 4 * hourMs;
    expect(await intake.ingest(body)).toMatchObject({ accepted: 1, duplicates: 0 });
    const periods = await t.redis.keys(`${t.keys.bullPrefix}:groups:*`);
    expect(periods).toHaveLength(4);
    for (const key of periods) expect(await t.redis.pttl(key)).toBeGreaterThan(0);
  } finally {
    await close();
  }
});

it('sends a resolution of a remembered firing alert to Redis, which resolves the incident', async () => {
  const { intake, close } = intakeOn(t.redis);
  try {
    const startsAt = new Date().toISOString();
    const alert = serviceDown('a', 'r1', startsAt);
    const [id] = (await intake.ingest(webhookBody([alert]))).incidents;
    const resolved = await intake.ingest(webhookBody([{ ...alert, status: 'resolved' }], 'resolved'));
    expect(resolved).toMatchObject({ accepted: 1, duplicates: 0, resolved: [id] });
    // Now the resolution itself is remembered.
    const again = await intake.ingest(webhookBody([{ ...alert, status: 'resolved' }], 'resolved'));
    expect(again).toMatchObject({ accepted: 0, duplicates: 1, resolved: [] });
  } finally {
    await close();
  }
});

it('forgets what it remembered when Redis is flushed, so re-sent alerts are recorded again', async () => {
  const { intake, close } = intakeOn(t.redis);
  try {
    const body = webhookBody([{ alertname: 'ServiceDown', instance: 'a', fingerprint: 'f1' }]);
    const [before] = (await intake.ingest(body)).incidents;
    await t.redis.flushall();
    const after = await intake.ingest(body);
    expect(after).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(after.incidents[0]).not.toBe(before);
    const store = new IncidentStore(t.redis, t.keys);
    expect((await store.get(after.incidents[0] as string))?.alertCount).toBe(1);
  } finally {
    await close();
  }
});

it('answers re-sends of alerts another request is recording once that one has, without asking Redis about them', async () => {
  const { proxy, calls } = counting(t.redis);
  const asked: string[] = [];
  const recording = aroundScript(proxy, (run, args) => {
    // The records: [fingerprint, startsAt, …] per alert, one JSON argument after the keys.
    const records = args.find((arg) => typeof arg === 'string' && arg.startsWith('[['));
    asked.push(
      ...(JSON.parse(records as string) as [string, ...unknown[]][]).map(([fingerprint]) => fingerprint),
    );
    return run(...args);
  });
  const { intake, close } = intakeOn(recording);
  try {
    const startsAt = new Date().toISOString();
    const a = serviceDown('a', 'j1', startsAt);
    const b = serviceDown('b', 'j2', startsAt);
    const [first, second] = await Promise.all([
      intake.ingest(webhookBody([a])),
      intake.ingest(webhookBody([a, b])),
    ]);
    expect(first).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(second).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(second.incidents).toContain(first.incidents[0]);
    // Redis was asked about each alert once: j1 by the first request, j2 by the second.
    expect(asked).toEqual(['j1', 'j2']);
    expect(calls.evalsha).toBe(2);
    const store = new IncidentStore(t.redis, t.keys);
    expect((await store.get(first.incidents[0] as string))?.alertCount).toBe(1);
  } finally {
    await close();
  }
});

it('fails a request that waited on a recording which failed, so the sender retries it', async () => {
  let failNext = true;
  const flaky = aroundScript(t.redis, async (run, args) => {
    if (!failNext) return run(...args);
    failNext = false;
    await new Promise((r) => setTimeout(r, 50));
    throw new Error('Connection is closed.');
  });
  const { intake, close } = intakeOn(flaky);
  try {
    const body = webhookBody([{ alertname: 'ServiceDown', instance: 'a', fingerprint: 'k1' }]);
    const results = await Promise.allSettled([intake.ingest(body), intake.ingest(body)]);
    // Both with the storage error, which the webhook answers with 503.
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'fulfilled'))).toEqual(
      ['Connection is closed.', 'Connection is closed.'],
    );
    expect(await intake.ingest(body)).toMatchObject({ accepted: 1, duplicates: 0 });
  } finally {
    await close();
  }
});

it('starts again when Redis was replaced under a request, and fails those waiting on it with a retryable error', async () => {
  let replaceNow = false;
  const replacing = aroundScript(t.redis, async (run, args) => {
    if (replaceNow) {
      replaceNow = false;
      await t.redis.set(t.keys.ingestEpoch, 'another-redis');
    }
    return run(...args);
  });
  const { intake, close } = intakeOn(replacing);
  try {
    const startsAt = new Date().toISOString();
    const x = serviceDown('x', 'e1', startsAt);
    const y = serviceDown('y', 'e2', startsAt);
    await intake.ingest(webhookBody([x]));
    replaceNow = true;
    // The first answers x from memory, then finds another epoch; the second waits on its y.
    const [first, second] = await Promise.allSettled([
      intake.ingest(webhookBody([x, y])),
      intake.ingest(webhookBody([y])),
    ]);
    expect(first).toMatchObject({ status: 'fulfilled', value: { accepted: 1, duplicates: 1 } });
    expect(second.status).toBe('rejected');
    expect((second as PromiseRejectedResult).reason).toBeInstanceOf(StorageChangedError);
    expect(await intake.ingest(webhookBody([y]))).toMatchObject({ accepted: 0, duplicates: 1 });
  } finally {
    await close();
  }
});

it('reads what earlier alerts of the same batch wrote: re-sends, resolutions and a group re-opening', async () => {
  const { intake, close } = intakeOn(t.redis);
  try {
    const startsAt = new Date().toISOString();
    const a = serviceDown('a', 'b1', startsAt);
    const b = serviceDown('a', 'b2', startsAt);
    // a fires twice, resolves (its incident closes), then b of the same group fires: a new incident.
    const result = await intake.ingest(webhookBody([a, a, { ...a, status: 'resolved' }, b]));
    expect(result).toMatchObject({ accepted: 3, duplicates: 1 });
    const [first, second] = result.incidents;
    expect(result.resolved).toEqual([first]);
    expect(second).not.toBe(first);
    const store = new IncidentStore(t.redis, t.keys);
    expect(await store.get(first as string)).toMatchObject({
      status: 'resolved',
      alertCount: 1,
      firingCount: 0,
    });
    expect(await store.get(second as string)).toMatchObject({
      status: 'open',
      alertCount: 1,
      firingCount: 1,
    });
    // A resolution under another startsAt (a new episode of the series) finds the group's incident.
    const later = { ...b, startsAt: new Date(Date.now() + 1000).toISOString(), status: 'resolved' as const };
    const resolved = await intake.ingest(webhookBody([later], 'resolved'));
    expect(resolved).toMatchObject({ accepted: 1, incidents: [second], resolved: [second] });
  } finally {
    await close();
  }
});

it('moves the updatedAt of an incident when alerts join it, and counts them across batches', async () => {
  const { intake, close } = intakeOn(t.redis);
  try {
    const startsAt = new Date().toISOString();
    const [id] = (await intake.ingest(webhookBody([serviceDown('u', 'u1', startsAt)]))).incidents;
    const store = new IncidentStore(t.redis, t.keys);
    const opened = await store.get(id as string);
    await new Promise((r) => setTimeout(r, 5));
    const joined = await intake.ingest(
      webhookBody([serviceDown('u', 'u2', startsAt), serviceDown('u', 'u3', startsAt)]),
    );
    expect(joined.incidents).toEqual([id]);
    const after = await store.get(id as string);
    expect(after).toMatchObject({ alertCount: 3, firingCount: 3, createdAt: opened?.createdAt });
    expect(Date.parse(after?.updatedAt as string)).toBeGreaterThan(Date.parse(opened?.updatedAt as string));
    // A status change later than the last alert is what updatedAt then shows.
    await new Promise((r) => setTimeout(r, 5));
    await store.setStatus(id as string, 'diagnosing', 'test');
    const diagnosing = await store.get(id as string);
    expect(Date.parse(diagnosing?.updatedAt as string)).toBeGreaterThan(
      Date.parse(after?.updatedAt as string),
    );
  } finally {
    await close();
  }
});

it('keeps joining a group opened earlier in the batch after another incident of the batch resolved', async () => {
  const { intake, close } = intakeOn(t.redis);
  try {
    const startsAt = new Date().toISOString();
    const x1 = serviceDown('x', 'g1', startsAt);
    const y = serviceDown('y', 'g2', startsAt);
    const x2 = serviceDown('x', 'g3', startsAt);
    const result = await intake.ingest(webhookBody([x1, y, { ...y, status: 'resolved' }, x2]));
    expect(result).toMatchObject({ accepted: 4, duplicates: 0 });
    expect(result.incidents).toHaveLength(2);
    const store = new IncidentStore(t.redis, t.keys);
    expect(await store.get(result.incidents[0] as string)).toMatchObject({ status: 'open', alertCount: 2 });
  } finally {
    await close();
  }
});

it("records a resolution's notice with it, so ingest dying right after the script cannot lose it", async () => {
  const { intake, close } = intakeOn(t.redis);
  const died = aroundScript(t.redis, async (run, args) => {
    await run(...args);
    throw new Error('ingest died here');
  });
  const dying = intakeOn(died);
  const notifications = createQueue<NotificationJob>(QUEUE.notifications.ingest, t.redis, t.keys.bullPrefix);
  try {
    const alert = serviceDown('r', 'res1', new Date().toISOString());
    const [id] = (await intake.ingest(webhookBody([alert]))).incidents;
    await expect(dying.intake.ingest(webhookBody([{ ...alert, status: 'resolved' }]))).rejects.toThrow(
      'ingest died here',
    );
    expect(await new IncidentStore(t.redis, t.keys).getStatus(id as string)).toBe('resolved');
    expect(await notifications.getJob(`resolved-${id}`)).toBeUndefined();

    const relayed = await new NotificationOutbox(t.redis, t.keys, 'ingest', notifications).relay(
      0,
      createLogger('notifier', 'silent'),
    );
    expect(relayed).toBe(1);
    expect((await notifications.getJob(`resolved-${id}`))?.data).toMatchObject({
      incidentId: id,
      event: 'resolved',
      title: 'Resolved',
    });
  } finally {
    await Promise.all([notifications.close(), dying.close()]);
    await close();
  }
});

it('queues the notice of a resolution it records and clears it from the outbox', async () => {
  const { intake, close } = intakeOn(t.redis);
  const notifications = createQueue<NotificationJob>(QUEUE.notifications.ingest, t.redis, t.keys.bullPrefix);
  try {
    const alert = serviceDown('r', 'res2', new Date().toISOString());
    const [id] = (await intake.ingest(webhookBody([alert]))).incidents;
    expect((await intake.ingest(webhookBody([{ ...alert, status: 'resolved' }]))).resolved).toEqual([id]);
    expect((await notifications.getJob(`resolved-${id}`))?.data.event).toBe('resolved');
    expect(await t.redis.hlen(t.keys.outbox('ingest'))).toBe(0);
  } finally {
    await notifications.close();
    await close();
  }
});

it('keeps every accepted alert whole in Redis past the timeline cap, and the first ones as timeline entries', async () => {
  const { intake, close } = intakeOn(t.redis, { timelineAlertCap: 2 });
  try {
    const body = webhookBody(
      ['c1', 'c2', 'c3'].map((fingerprint, n) => ({
        alertname: 'ServiceDown',
        instance: 'a',
        fingerprint,
        annotations: n === 0 ? ({} as Record<string, string>) : { description: `ünïcode / "quoted" ${n}` },
      })),
    );
    body.commonLabels = { team: 'payments' };
    const [id] = (await intake.ingest(body)).incidents;
    const resolution = {
      ...(body.alerts[2] as Alert),
      status: 'resolved' as const,
      endsAt: new Date().toISOString(),
    };
    await intake.ingest({ ...body, alerts: [resolution] });

    const expected = [...body.alerts.slice(0, 2), resolution].map((alert) => ({
      ...alert,
      labels: { team: 'payments', ...alert.labels },
    }));
    const stored = await t.redis.hgetall(t.keys.incidentAlerts(id as string));
    expect(Object.keys(stored).sort()).toEqual(['c1', 'c2', 'c3']);
    for (const alert of expected) {
      const [status, fingerprint, startsAt, endsAt, labels, annotations, generatorURL] =
        storedAlertSchema.parse(JSON.parse(stored[alert.fingerprint] as string));
      expect({ status, fingerprint, startsAt, endsAt, labels, annotations, generatorURL }).toEqual(alert);
    }
    const incident = await new IncidentStore(t.redis, t.keys).get(id as string);
    expect(incident?.timeline.map((entry) => entry.type)).toEqual(['alert', 'alert', 'summary']);
    expect(incident?.timeline.slice(0, 2)).toEqual(
      expected.slice(0, 2).map((alert) => ({
        at: expect.any(String),
        type: 'alert',
        by: 'ingest',
        receiver: 'hermes',
        ...alert,
      })),
    );
  } finally {
    await close();
  }
});

/** An incident's firing count, and how many of its stored alerts are firing. */
async function firingOf(id: string) {
  const stored = Object.values(await t.redis.hgetall(t.keys.incidentAlerts(id)));
  const incident = await new IncidentStore(t.redis, t.keys).getSummary(id);
  return {
    firingCount: incident?.firingCount,
    storedFiring: stored.filter((raw) => storedAlertSchema.parse(JSON.parse(raw))[0] === 'firing').length,
    status: incident?.status,
  };
}

it('keeps each incident firing count equal to its firing alerts, whatever order firings, re-fires and resolutions come in', async () => {
  const { intake, close } = intakeOn(t.redis);
  let group = 0;
  try {
    const alert = fc.record({
      fingerprint: fc.constantFrom('f1', 'f2', 'f3'),
      startsAt: fc.constantFrom('2026-01-01T00:00:00Z', '2026-01-01T01:00:00Z', '2026-01-01T02:00:00Z'),
      status: fc.constantFrom('firing' as const, 'resolved' as const),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(alert, { minLength: 1, maxLength: 5 }), { maxLength: 8 }),
        async (webhooks) => {
          const alertname = `Group${group++}`;
          const incidents = new Set<string>();
          for (const alerts of webhooks) {
            const body = webhookBody(alerts.map((a) => ({ alertname, instance: 'a', ...a })));
            for (const id of (await intake.ingest(body)).incidents) incidents.add(id);
            for (const id of incidents) {
              const { firingCount, storedFiring, status } = await firingOf(id);
              expect(firingCount).toBe(storedFiring);
              expect(status === 'resolved').toBe(firingCount === 0);
            }
          }
        },
      ),
      {
        numRuns: 150,
        // One fingerprint firing under two startsAt in its first webhook: one firing alert, not two.
        examples: [
          [
            [
              [
                { fingerprint: 'f1', startsAt: '2026-01-01T00:00:00Z', status: 'firing' },
                { fingerprint: 'f1', startsAt: '2026-01-01T01:00:00Z', status: 'firing' },
              ],
            ],
          ],
        ],
      },
    );
  } finally {
    await close();
  }
});

describe('late re-sends of an earlier episode (HA peers, retries) change nothing', () => {
  const first = '2026-01-01T10:00:00+02:00';
  // Later than `first` (08:00 UTC), though it reads earlier as text.
  const second = '2026-01-01T09:30:00Z';
  const late = () => intakeOn(t.redis, { dedupCacheSize: 0 });

  it('a resolution of the episode before, after the alert fired again on a new incident', async () => {
    const { intake, close } = intakeOn(t.redis);
    const peer = late();
    try {
      const [x] = (await intake.ingest(webhookBody([serviceDown('e', 'e1', first)]))).incidents;
      const resolution = webhookBody(
        [{ ...serviceDown('e', 'e1', first), status: 'resolved' as const }],
        'resolved',
      );
      expect((await intake.ingest(resolution)).resolved).toEqual([x]);
      const [y] = (await intake.ingest(webhookBody([serviceDown('e', 'e1', second)]))).incidents;
      expect(y).not.toBe(x);
      expect(await peer.intake.ingest(resolution)).toMatchObject({
        accepted: 0,
        duplicates: 1,
        resolved: [],
      });
      expect(await firingOf(y as string)).toEqual({ firingCount: 1, storedFiring: 1, status: 'open' });
      // And a late firing of the first episode, once the second resolved, opens nothing.
      const secondResolved = webhookBody(
        [{ ...serviceDown('e', 'e1', second), status: 'resolved' as const }],
        'resolved',
      );
      expect((await intake.ingest(secondResolved)).resolved).toEqual([y]);
      const refire = await peer.intake.ingest(webhookBody([serviceDown('e', 'e1', first)]));
      expect(refire).toMatchObject({ accepted: 0, duplicates: 1, incidents: [y] });
      expect(await firingOf(y as string)).toEqual({ firingCount: 0, storedFiring: 0, status: 'resolved' });
    } finally {
      await Promise.all([close(), peer.close()]);
    }
  });

  it('a resolution of the episode before, after the next episode joined the same open incident', async () => {
    const { intake, close } = intakeOn(t.redis);
    const peer = late();
    try {
      const [x] = (
        await intake.ingest(webhookBody([serviceDown('e', 'e1', first), serviceDown('e', 'e2', first)]))
      ).incidents;
      // The alert fired again under a new startsAt before its resolution got through.
      await intake.ingest(webhookBody([serviceDown('e', 'e1', second)]));
      const resolution = webhookBody(
        [{ ...serviceDown('e', 'e1', first), status: 'resolved' as const }],
        'resolved',
      );
      expect(await peer.intake.ingest(resolution)).toMatchObject({
        accepted: 0,
        duplicates: 1,
        incidents: [x],
      });
      expect(await firingOf(x as string)).toEqual({ firingCount: 2, storedFiring: 2, status: 'open' });
      // A resolution of a later episode than the one held still resolves it.
      const third = '2026-01-01T12:00:00Z';
      const later = webhookBody(
        [{ ...serviceDown('e', 'e1', third), status: 'resolved' as const }],
        'resolved',
      );
      expect(await peer.intake.ingest(later)).toMatchObject({ accepted: 1, incidents: [x] });
      expect(await firingOf(x as string)).toEqual({ firingCount: 1, storedFiring: 1, status: 'open' });
    } finally {
      await Promise.all([close(), peer.close()]);
    }
  });
});

it('counts alerts stored before they were arrays (timeline entries) by their status', async () => {
  const { intake, close } = intakeOn(t.redis);
  try {
    const first = webhookBody([serviceDown('a', 'legacy', '2026-01-01T00:00:00Z')]);
    const [id] = (await intake.ingest(first)).incidents;
    const legacy = {
      at: new Date().toISOString(),
      type: 'alert',
      by: 'ingest',
      ...first.alerts[0],
      receiver: 'hermes',
    };
    await t.redis.hset(t.keys.incidentAlerts(id as string), 'legacy', JSON.stringify(legacy));
    // Re-sent as it was, it is known by its fingerprint and startsAt.
    const forgetful = intakeOn(t.redis, { dedupCacheSize: 0 });
    expect(await forgetful.intake.ingest(first)).toMatchObject({
      accepted: 0,
      duplicates: 1,
      incidents: [id],
    });
    await forgetful.close();
    // The same alert firing again (a new startsAt) is already counted; its resolution resolves the incident.
    await intake.ingest(webhookBody([serviceDown('a', 'legacy', '2026-01-01T01:00:00Z')]));
    expect(await firingOf(id as string)).toEqual({ firingCount: 1, storedFiring: 1, status: 'open' });
    const resolution = { ...serviceDown('a', 'legacy', '2026-01-01T01:00:00Z'), status: 'resolved' as const };
    expect((await intake.ingest(webhookBody([resolution], 'resolved'))).resolved).toEqual([id]);
  } finally {
    await close();
  }
});

it('finds groups recorded before groups had periods (corr:<key> strings) and carries them forward', async () => {
  const { intake, close } = intakeOn(t.redis, { dedupCacheSize: 0 });
  try {
    const startsAt = new Date().toISOString();
    const body = webhookBody([serviceDown('up', 'g1', startsAt)]);
    const [id] = (await intake.ingest(body)).incidents;
    // As an earlier version left it: the group in a string key of its own, no period hashes.
    const [period] = await t.redis.keys(`${t.keys.bullPrefix}:groups:*`);
    const groups = Object.entries(await t.redis.hgetall(period as string));
    expect(groups).toEqual([[expect.any(String), id]]);
    const [key] = groups[0] as [string, string];
    await t.redis.del(period as string);
    await t.redis.set(`${t.keys.bullPrefix}:corr:${key}`, id as string);

    expect(await intake.ingest(body)).toMatchObject({ accepted: 0, duplicates: 1, incidents: [id] });
    const joined = await intake.ingest(webhookBody([serviceDown('up', 'g2', startsAt)]));
    expect(joined).toMatchObject({ accepted: 1, incidents: [id] });
    expect(await t.redis.hget(period as string, key as string)).toBe(id);
  } finally {
    await close();
  }
});

it('leaves nothing behind when a batch cannot be stored whole, however often it is retried', async () => {
  // Ingest makes every value decodable before it reaches Redis; the script still checks the whole
  // batch before its first write, so anything it cannot decode leaves no trace. Driven directly,
  // with a stored alert holding a lone surrogate escape after two good ones.
  const now = new Date();
  const alert = (fp: string, name: string) =>
    `["firing","${fp}","${now.toISOString()}","0001-01-01T00:00:00Z",{"alertname":"${name}"},{},""]`;
  const record = (fp: string, ck: string) => [
    fp,
    now.toISOString(),
    now.getTime(),
    'firing',
    ck,
    ck,
    1,
    'critical',
    4,
  ];
  for (let attempt = 0; attempt < 10; attempt++) {
    const fps = [`a${attempt}`, `b${attempt}`, `c${attempt}`];
    await expect(
      intakeScript.run(
        t.redis,
        [
          t.keys.stormOpened,
          t.keys.ingestEpoch,
          t.keys.stormCurrent,
          t.keys.triageBacklog,
          t.keys.incidentIndex,
          t.keys.outbox('ingest'),
          t.keys.incidentIds,
        ],
        [
          JSON.stringify(scriptKeyLayout(t.keys)),
          now.toISOString(),
          String(now.getTime()),
          '5',
          '60000',
          '20',
          `inc_debris_${attempt}`,
          '3600',
          '50',
          'epoch-1',
          '',
          'hermes',
          JSON.stringify(resolvedNotice('')),
          JSON.stringify(fps.map((fp) => record(fp, `ck-${fp}`))),
          alert(fps[0] as string, 'Fine'),
          alert(fps[1] as string, 'AlsoFine'),
          alert(fps[2] as string, 'Poison\\ud800'),
        ],
      ),
    ).rejects.toThrow();
  }
  // Before the script checked first, each attempt left incidents and, past the threshold (5), a storm.
  expect(await t.redis.zcard(t.keys.incidentIndex)).toBe(0);
  expect(await t.redis.zcard(t.keys.incidentIds)).toBe(0);
  expect(await t.redis.scard(t.keys.triageBacklog)).toBe(0);
  expect(await t.redis.zcard(t.keys.stormOpened)).toBe(0);
  expect(await t.redis.get(t.keys.stormCurrent)).toBeNull();
});

it('does not let an episode dated in the future swallow the genuine episodes after it', async () => {
  const { intake, close } = intakeOn(t.redis);
  try {
    const fingerprint = 'f0000000000000ff';
    const future = '2099-01-01T00:00:00Z';
    const alert = { alertname: 'ClockSkew', instance: 'skewed-1', fingerprint };
    expect(await intake.ingest(webhookBody([{ ...alert, startsAt: future }]))).toMatchObject({ accepted: 1 });
    await intake.ingest(webhookBody([{ ...alert, startsAt: future, status: 'resolved' }], 'resolved'));
    // The sender's clock is right again: a genuine new episode, and another one later.
    const startsAt = new Date().toISOString();
    const first = await intake.ingest(webhookBody([{ ...alert, startsAt }]));
    expect(first).toMatchObject({ accepted: 1, duplicates: 0 });
    // Its re-sends are still recognised.
    expect(await intake.ingest(webhookBody([{ ...alert, startsAt }]))).toMatchObject({
      accepted: 0,
      duplicates: 1,
    });
  } finally {
    await close();
  }
});
