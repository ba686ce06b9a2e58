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
import { queueIdle } from '../support/queues.js';
import { eventually, openTestRedis, type TestRedis } from '../support/redis.js';
import { type OutageProxy, startOutageProxy } from './outage-proxy.js';

const EVENTS = 12;
/**
 * Each phase of the outage lasts until both channels have refused deliveries in it; in `npm test` no
 * longer. RELIABILITY_OUTAGE_SECONDS=180 stretches the three phases to at least a minutes-long outage.
 */
const OUTAGE_MS = Number(process.env.RELIABILITY_OUTAGE_SECONDS ?? 0) * 1000;
/** How long a phase may take to see its refusals: the first retries come within seconds. */
const PHASE_TIMEOUT_MS = 30_000;
/** Exponential backoff: after an outage of T the next attempt comes at most about T later. */
const RECOVERY_MS = Math.max(90_000, OUTAGE_MS * 1.5);

/** Waits until `seen` holds and, with RELIABILITY_OUTAGE_SECONDS, this phase's share of the outage has passed. */
async function phase(share: number, seen: () => boolean, what: string): Promise<void> {
  const until = Date.now() + OUTAGE_MS * share;
  await eventually(
    async () => (seen() && Date.now() >= until) || undefined,
    what,
    OUTAGE_MS * share + PHASE_TIMEOUT_MS,
  );
}

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
      const outageStart = Date.now();
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

        const refused = (proxy: OutageProxy, mode: string) => proxy.refused[mode] ?? 0;
        await phase(
          0.4,
          () => refused(slackProxy, '503') >= EVENTS && refused(pagerdutyProxy, 'refuse') >= EVENTS,
          'every event refused by Slack (503) and PagerDuty (connection refused)',
        );
        slackProxy.mode = 429;
        pagerdutyProxy.mode = 503;
        await phase(
          0.4,
          () => refused(slackProxy, '429') >= 1 && refused(pagerdutyProxy, '503') >= EVENTS,
          'Slack rate limiting and PagerDuty answering 503 to as many retries as there are events',
        );
        slackProxy.mode = 'up';
        pagerdutyProxy.mode = 429;
        await phase(0.2, () => refused(pagerdutyProxy, '429') >= 1, 'PagerDuty rate limiting');
        pagerdutyProxy.mode = 'up';
        const outageSeconds = (Date.now() - outageStart) / 1000;

        const count = (texts: string[], marker: string) =>
          texts.filter((text) => text.includes(marker)).length;
        const slackTexts = () => slack.posted().map((r) => r.raw);
        const pagerdutyTexts = () => pagerduty.accepted().map((r) => JSON.stringify(r.body));
        await eventually(
          async () =>
            markers.every((m) => count(slackTexts(), m) >= 1 && count(pagerdutyTexts(), m) >= 1) || undefined,
          'every event on Slack and PagerDuty',
          RECOVERY_MS,
        );
        // Once no notification job is left to run, a wrongly repeated delivery would have shown up.
        await eventually(async () => queueIdle(queue), 'every notification job finished', RECOVERY_MS);
        console.log(
          `[reliability] outage ${outageSeconds.toFixed(1)} s: ${EVENTS} events × 2 channels; refused meanwhile: slack ${JSON.stringify(slackProxy.refused)}, pagerduty ${JSON.stringify(pagerdutyProxy.refused)}`,
        );
        expect(slackProxy.refused['503']).toBeGreaterThan(0);
        expect(slackProxy.refused['429']).toBeGreaterThan(0);
        expect(pagerdutyProxy.refused.refuse).toBeGreaterThan(0);
        for (const marker of markers) {
          expect(count(slackTexts(), marker), `${marker} on Slack`).toBe(1);
          expect(count(pagerdutyTexts(), marker), `${marker} on PagerDuty`).toBe(1);
        }
      } finally {
        await queue.close();
      }
    },
    OUTAGE_MS + 3 * PHASE_TIMEOUT_MS + RECOVERY_MS + 60_000,
  );
});
