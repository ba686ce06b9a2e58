import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifierEnvSchema } from '../../services/notifier/env.js';
import { startNotifier } from '../../services/notifier/service.js';
import { parseEnv } from '../../shared/env.js';
import { createLogger } from '../../shared/logger.js';
import { enqueueNotification } from '../../shared/notify.js';
import { createQueue, QUEUE } from '../../shared/queues.js';
import type { NotificationJob } from '../../shared/schemas/jobs.js';
import { type FakePagerDuty, startFakePagerDuty } from '../support/fake-pagerduty.js';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { openIncident } from '../support/incidents.js';
import { eventually, openTestRedis, type TestRedis } from '../support/redis.js';
import { type OutageProxy, startOutageProxy } from './outage-proxy.js';

const EVENTS = 12;
/** 15 s in npm test; RELIABILITY_OUTAGE_SECONDS=180 for the minutes-long outage. */
const OUTAGE_MS = Number(process.env.RELIABILITY_OUTAGE_SECONDS ?? 15) * 1000;
/** Exponential backoff: after an outage of T the next attempt comes at most about T later. */
const RECOVERY_MS = Math.max(90_000, OUTAGE_MS * 1.5);

describe('Slack and PagerDuty down, then rate limiting, then back', () => {
  let t: TestRedis;
  let slack: FakeSlack;
  let pagerduty: FakePagerDuty;
  let slackProxy: OutageProxy;
  let pagerdutyProxy: OutageProxy;
  let notifier: Awaited<ReturnType<typeof startNotifier>>;

  beforeAll(async () => {
    t = await openTestRedis();
    slack = await startFakeSlack();
    pagerduty = await startFakePagerDuty();
    slackProxy = await startOutageProxy(slack.baseUrl);
    pagerdutyProxy = await startOutageProxy(new URL(pagerduty.eventsUrl).origin);
    notifier = await startNotifier(
      parseEnv(notifierEnvSchema, {
        REDIS_URL: t.url,
        HERMES_PREFIX: t.prefix,
        SLACK_BOT_TOKEN: slack.token,
        SLACK_CHANNEL: slack.channel,
        SLACK_API_URL: `${slackProxy.url}/api`,
        PAGERDUTY_ROUTING_KEY: pagerduty.routingKey,
        PAGERDUTY_EVENTS_URL: `${pagerdutyProxy.url}/v2/enqueue`,
        NOTIFIER_HTTP_TIMEOUT_MS: '2000',
        NOTIFIER_RETRY_AFTER_DEFAULT_MS: '1000',
      }),
      { logger: createLogger('test', 'silent') },
    );
  });
  afterAll(async () => {
    await notifier?.close();
    await Promise.all([slackProxy?.close(), pagerdutyProxy?.close(), slack?.close(), pagerduty?.close()]);
    await t?.close();
  });

  it(
    'retries every delivery and each arrives exactly once per channel after recovery',
    async () => {
      slackProxy.mode = 503;
      pagerdutyProxy.mode = 'refuse';
      const queue = createQueue<NotificationJob>(QUEUE.notifications.triage, t.redis, t.keys.bullPrefix);
      const markers: string[] = [];
      try {
        for (let n = 0; n < EVENTS; n++) {
          const incidentId = await openIncident(t, { alertname: 'ServiceDown', service: `svc-${n}` });
          const marker = `outage-event-${String(n).padStart(3, '0')}`;
          markers.push(marker);
          await enqueueNotification(queue, {
            incidentId,
            event: 'escalated',
            severity: 'critical',
            title: marker,
            text: `${marker}: a human must take over`,
            channels: ['slack', 'pagerduty'],
          });
        }
      } finally {
        await queue.close();
      }

      await new Promise((r) => setTimeout(r, OUTAGE_MS * 0.4));
      slackProxy.mode = 429;
      pagerdutyProxy.mode = 503;
      await new Promise((r) => setTimeout(r, OUTAGE_MS * 0.4));
      slackProxy.mode = 'up';
      pagerdutyProxy.mode = 429;
      await new Promise((r) => setTimeout(r, OUTAGE_MS * 0.2));
      pagerdutyProxy.mode = 'up';

      const count = (texts: string[], marker: string) => texts.filter((text) => text.includes(marker)).length;
      const slackTexts = () => slack.posted().map((r) => r.raw);
      const pagerdutyTexts = () => pagerduty.accepted().map((r) => JSON.stringify(r.body));
      await eventually(
        async () =>
          markers.every((m) => count(slackTexts(), m) >= 1 && count(pagerdutyTexts(), m) >= 1) || undefined,
        'every event on Slack and PagerDuty',
        RECOVERY_MS,
      );
      // Give a wrongly repeated delivery the time to show up.
      await new Promise((r) => setTimeout(r, 2_000));
      console.log(
        `[reliability] outage ${OUTAGE_MS / 1000} s: ${EVENTS} events × 2 channels; refused meanwhile: slack ${JSON.stringify(slackProxy.refused)}, pagerduty ${JSON.stringify(pagerdutyProxy.refused)}`,
      );
      expect(slackProxy.refused['503']).toBeGreaterThan(0);
      expect(slackProxy.refused['429']).toBeGreaterThan(0);
      expect(pagerdutyProxy.refused.refuse).toBeGreaterThan(0);
      for (const marker of markers) {
        expect(count(slackTexts(), marker), `${marker} on Slack`).toBe(1);
        expect(count(pagerdutyTexts(), marker), `${marker} on PagerDuty`).toBe(1);
      }
    },
    OUTAGE_MS + RECOVERY_MS + 30_000,
  );
});
