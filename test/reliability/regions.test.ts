import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IncidentStore } from '../../shared/incidents.js';
import { createQueue, QUEUE } from '../../shared/queues.js';
import type { NotificationJob } from '../../shared/schemas/jobs.js';
import { closeFleet, openFleet } from '../support/fleets.js';
import { ingestWebhook, type TestAlert, webhookBody } from '../support/incidents.js';
import { eventually, openTestRedis, type TestRedis } from '../support/redis.js';
import { startLiveServices } from './live-services.js';
import { markerLines, tempDir } from './processes.js';

/**
 * Region by region with the real triage (runbook planner) and executor on the shipped policy's
 * budgets (1 per region, 2 across the fleet). Local targets, the slow-action fixture as systemctl:
 * its marker file is what really ran. Verification without Prometheus: the alert resolved in
 * Alertmanager (a resolved webhook) is a fix; a window that ends with it firing is not.
 */
async function world(tag: string, verifyWindowSeconds: number) {
  const t = await openTestRedis();
  const dir = tempDir(tag);
  const services = await startLiveServices(t, dir, {
    PLANNER: 'runbook',
    VERIFY_WINDOW_SECONDS: String(verifyWindowSeconds),
    VERIFY_INTERVAL_MS: '200',
  });
  const store = new IncidentStore(t.redis, t.keys);
  const notifications = createQueue<NotificationJob>(QUEUE.notifications.triage, t.redis, t.keys.bullPrefix);
  return {
    t,
    store,
    /** The restarts that really ran (the slow-action fixture's `start` lines). */
    starts: () => markerLines(services.marker).filter((l) => l.startsWith('start')),
    held: (id: string, what: string) =>
      eventually(async () => (await store.get(id))?.actions.some((a) => a.decision === 'held'), what, 20_000),
    /** The notices triage queued (the notifier routes `escalated` to PagerDuty, `message` to Slack). */
    async notices(): Promise<NotificationJob[]> {
      const jobs = await notifications.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed']);
      return jobs.map((job) => job.data);
    },
    status: async (id: string) => (await store.getSummary(id))?.status,
    async close() {
      await notifications.close();
      await services.close();
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type World = Awaited<ReturnType<typeof world>>;

const crash = (region: string): TestAlert => ({
  alertname: 'ServiceDown',
  service: 'api-gateway',
  instance: `api-${region}:9100`,
  fingerprint: `fp-${region}`,
  startsAt: '2026-12-07T09:00:00.000Z',
  labels: { region, zone: 'a' },
});

async function fire(t: TestRedis, alert: TestAlert): Promise<string> {
  const result = await ingestWebhook(t, webhookBody([alert]));
  return result.incidents[0] as string;
}

const resolve = (t: TestRedis, alert: TestAlert) =>
  ingestWebhook(t, webhookBody([{ ...alert, status: 'resolved' }], 'resolved'));

/** eu-west's crash runs its restart and is verifying; us-east's, fired next, is held behind it. */
async function euVerifyingUsHeld(w: World): Promise<{ eu: string; us: string }> {
  const eu = await fire(w.t, crash('eu-west'));
  await eventually(async () => (await w.status(eu)) === 'verifying', 'eu-west verifying', 20_000);
  const us = await fire(w.t, crash('us-east'));
  await w.held(us, 'us-east held');
  return { eu, us };
}

describe.concurrent('region by region, through triage and the executor', () => {
  it('independent crashes in two regions: the first region runs and verifies, then the second; both resolved', async () => {
    const w = await world('regions-ok', 60);
    try {
      const { eu, us } = await euVerifyingUsHeld(w);
      // The incident says what it waits for once triage has heard the decision.
      const waiting = await eventually(
        async () => (await w.store.get(us))?.timeline.find((e) => e.type === 'summary' && e.held === true),
        'us-east to say it waits',
      );
      expect(waiting?.message).toMatch(
        /^waiting: held: restart_service of api-gateway goes region by region; eu-west first \(/,
      );
      expect(w.starts()).toHaveLength(1);

      await resolve(w.t, crash('eu-west'));
      await eventually(async () => (await w.status(eu)) === 'resolved', 'eu-west resolved', 20_000);
      // The held change runs by itself once eu-west is verified, and is verified in its turn.
      await eventually(async () => (await w.status(us)) === 'verifying', 'us-east verifying', 20_000);
      await resolve(w.t, crash('us-east'));
      await eventually(async () => (await w.status(us)) === 'resolved', 'us-east resolved', 20_000);
      expect(w.starts()).toEqual(['start api-gateway', 'start api-gateway']);
    } finally {
      await w.close();
    }
  }, 90_000);

  it('a first region whose fix does not work: the second region’s change is cancelled and never runs', async () => {
    const w = await world('regions-bad', 3);
    try {
      const { eu, us } = await euVerifyingUsHeld(w);
      // eu-west's alert keeps firing through its window: ineffective.
      await eventually(async () => (await w.status(eu)) === 'escalated', 'eu-west escalated', 20_000);
      await eventually(async () => (await w.status(us)) === 'escalated', 'us-east escalated', 20_000);
      const cancelled = (await w.store.get(us))?.actions.find((a) => a.tool === 'restart_service');
      expect(cancelled).toMatchObject({ decision: 'cancelled' });
      expect(cancelled?.reason).toMatch(
        /^cancelled: restart_service of api-gateway did not fix it in eu-west \(.+\); not run in us-east$/,
      );
      expect((await w.store.getSummary(us))?.summary).toMatch(
        /^The held restart_service did not run \(cancelled: /,
      );
      expect(w.starts()).toHaveLength(1);
      // Humans are paged once (eu-west's escalation, with its evidence); us-east is told, not paged.
      const notices = await w.notices();
      expect(notices.filter((n) => n.event === 'escalated').map((n) => n.incidentId)).toEqual([eu]);
      expect(notices.find((n) => n.incidentId === us && n.event === 'message')?.text).toMatch(
        /^The held restart_service did not run \(cancelled: /,
      );
    } finally {
      await w.close();
    }
  }, 90_000);

  it('a fleet incident holds both regions’ restarts; when it resolves they are dropped, told and not paged', async () => {
    const w = await world('regions-fleet', 3);
    const actions = createQueue(QUEUE.actions, w.t.redis, w.t.keys.bullPrefix);
    try {
      // Ingest's fleet incident for ServiceDown on api-gateway (written as ingest does).
      await openFleet(w.t, {
        id: 'inc_fleet',
        alertname: 'ServiceDown',
        resource: 'api-gateway',
        places: ['eu-west', 'us-east'].map((region) => ({ target: 'test-machine', host: region, region })),
      });
      const members = [await fire(w.t, crash('eu-west')), await fire(w.t, crash('us-east'))];
      for (const id of members) await w.held(id, 'held by the fleet');
      await closeFleet(w.t, 'inc_fleet', 'alice');
      await actions.add('fleet_closed', { fleetId: 'inc_fleet' });
      for (const id of members) {
        await eventually(async () => (await w.status(id)) === 'escalated', 'told it will not run', 20_000);
        expect((await w.store.getSummary(id))?.summary).toMatch(
          /^not run: fleet incident inc_fleet was resolved by alice\. The fleet incident paged/,
        );
      }
      expect(w.starts()).toEqual([]);
      // The fleet incident paged once for all of them: its members are told, not paged.
      const notices = await w.notices();
      expect(notices.filter((n) => n.event === 'escalated')).toEqual([]);
      expect(
        notices
          .filter((n) => n.event === 'message')
          .map((n) => n.incidentId)
          .sort(),
      ).toEqual([...members].sort());
    } finally {
      await actions.close();
      await w.close();
    }
  }, 90_000);
});
