import { afterEach, beforeEach, expect, it } from 'vitest';
import { createClassifier } from '../../services/ingest/classify.js';
import { createCorrelator } from '../../services/ingest/correlation.js';
import { Intake } from '../../services/ingest/intake.js';
import { IncidentStore } from '../../shared/incidents.js';
import { createQueue, QUEUE } from '../../shared/queues.js';
import type { RedisConnection } from '../../shared/redis.js';
import type { NotificationJob, TriageJob } from '../../shared/schemas/jobs.js';
import { webhookBody } from '../support/incidents.js';
import { openTestRedis, type TestRedis } from '../support/redis.js';

let t: TestRedis;
beforeEach(async () => {
  t = await openTestRedis();
});
afterEach(async () => {
  await t.close();
});

function intakeOn(redis: RedisConnection) {
  const triage = createQueue<TriageJob>(QUEUE.triage, t.redis, t.keys.bullPrefix);
  const notifications = createQueue<NotificationJob>(QUEUE.notifications, t.redis, t.keys.bullPrefix);
  const intake = new Intake(
    redis,
    t.keys,
    triage,
    notifications,
    createClassifier(),
    createCorrelator('alertname,instance'),
    {
      stormThreshold: 50,
      stormWindowSeconds: 60,
      stormTriageBudget: 20,
      dedupTtlSeconds: 3600,
      timelineAlertCap: 50,
    },
  );
  return { intake, close: () => Promise.all([triage.close(), notifications.close()]) };
}

it('sends an alert in full after all when the duplicate it looked like has vanished (e.g. its key expired)', async () => {
  // MGET claims every alert was seen before; the script finds no such record and asks for them in full.
  const stale = new Proxy(t.redis, {
    get(target, prop) {
      if (prop === 'mget') return async (keys: string[]) => keys.map(() => 'inc_gone|firing');
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const { intake, close } = intakeOn(stale);
  try {
    const body = webhookBody([
      { alertname: 'ServiceDown', instance: 'a', fingerprint: 'v1' },
      { alertname: 'ServiceDown', instance: 'b', fingerprint: 'v2' },
    ]);
    const result = await intake.ingest(body);
    expect(result).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(result.opened).toHaveLength(2);
    const store = new IncidentStore(t.redis, t.keys);
    const incidents = await Promise.all(result.incidents.map((id) => store.get(id)));
    expect(incidents.map((i) => [i?.instance, i?.alertCount, i?.labels.alertname])).toEqual([
      ['a', 1, 'ServiceDown'],
      ['b', 1, 'ServiceDown'],
    ]);
    // And a real re-send is recognised through the same probe path.
    const honest = intakeOn(t.redis);
    const again = await honest.intake.ingest(body).finally(honest.close);
    expect(again).toMatchObject({ accepted: 0, duplicates: 2, incidents: result.incidents });
  } finally {
    await close();
  }
});

it('re-queues the triage job when a retried webhook finds its incident stored but never queued', async () => {
  const { intake, close } = intakeOn(t.redis);
  const triage = createQueue<TriageJob>(QUEUE.triage, t.redis, t.keys.bullPrefix);
  try {
    const body = webhookBody([{ alertname: 'ServiceDown', instance: 'a', fingerprint: 'q1' }]);
    const [id] = (await intake.ingest(body)).incidents;
    // As if ingest had crashed between storing the incident and queueing its job.
    await (await triage.getJob(`triage-${id}`))?.remove();
    expect(await triage.getJob(`triage-${id}`)).toBeUndefined();
    expect(await intake.ingest(body)).toMatchObject({ accepted: 0, duplicates: 1 });
    expect((await triage.getJob(`triage-${id}`))?.data).toEqual({ incidentId: id, trigger: 'alert' });
    // While the job exists, re-sends leave it alone.
    const before = await triage.getJobCounts();
    await intake.ingest(body);
    expect(await triage.getJobCounts()).toEqual(before);
  } finally {
    await triage.close();
    await close();
  }
});
