import { notifierEnvSchema } from '../../services/notifier/env.js';
import { startNotifier } from '../../services/notifier/service.js';
import { startSmtpSink } from '../../services/notifier/test/smtp-sink.js';
import { parseEnv } from '../../shared/env.js';
import { createLogger } from '../../shared/logger.js';
import { type FakePagerDuty, startFakePagerDuty } from './fake-pagerduty.js';
import { type FakeSlack, startFakeSlack } from './fake-slack.js';

/** What reached each channel: PagerDuty triggers, new Slack messages (not thread replies), emails. */
export interface Pages {
  pagerduty: number;
  slack: number;
  email: number;
}

/** The notifier's settings for these fakes: Slack's Web API (bot token, channel) and PagerDuty's Events API. */
export const fakeChannelsEnv = (slack: FakeSlack, pagerduty: FakePagerDuty) => ({
  SLACK_BOT_TOKEN: slack.token,
  SLACK_CHANNEL: slack.channel,
  SLACK_API_URL: slack.apiUrl,
  PAGERDUTY_ROUTING_KEY: pagerduty.routingKey,
  PAGERDUTY_EVENTS_URL: pagerduty.eventsUrl,
});

/**
 * The real notifier on every channel: fake PagerDuty and Slack speaking their wire formats and a
 * real SMTP server, for tests and benches that count what paged whom.
 */
export async function startPagedNotifier(redis: { url: string; prefix: string }) {
  const slack = await startFakeSlack();
  const pagerduty = await startFakePagerDuty();
  const smtp = await startSmtpSink();
  const notifier = await startNotifier(
    parseEnv(notifierEnvSchema, {
      REDIS_URL: redis.url,
      HERMES_PREFIX: redis.prefix,
      LOG_LEVEL: 'silent',
      ...fakeChannelsEnv(slack, pagerduty),
      SMTP_URL: smtp.url,
      EMAIL_TO: 'oncall@example.test',
    }),
    { logger: createLogger('notifier', 'silent') },
  );
  return {
    slack,
    pagerduty,
    smtp,
    pages(): Pages {
      return {
        pagerduty: pagerduty.requests.filter(
          (r) => (r.body as { event_action?: string }).event_action === 'trigger',
        ).length,
        slack: slack.posted().filter((r) => r.kind === 'postMessage' && !r.body?.thread_ts).length,
        email: smtp.messages.length,
      };
    },
    async close() {
      await notifier.close();
      await Promise.all([slack.close(), pagerduty.close(), smtp.close()]);
    },
  };
}
