import type { Keyspace } from '../../../shared/keys.js';
import type { Logger } from '../../../shared/logger.js';
import type { RedisConnection } from '../../../shared/redis.js';
import type { Channel } from '../../../shared/schemas/jobs.js';
import type { RetryAfterPolicy } from '../delivery-error.js';
import type { NotifierEnv } from '../env.js';
import type { NotificationChannel } from '../types.js';
import { createConsoleChannel } from './console.js';
import { createEmailChannel, type EmailChannel } from './email.js';
import { createPagerDutyChannel } from './pagerduty.js';
import { createSlackChannel } from './slack.js';

export interface Channels {
  byName: Map<Channel, NotificationChannel>;
  /** True when at least one of Slack, PagerDuty or email is configured. */
  anyExternal: boolean;
  email?: EmailChannel | undefined;
  close(): Promise<void>;
}

/** Builds the configured channels; each unconfigured one is reported once, here, not per message. */
export function createChannels(
  env: NotifierEnv,
  deps: { redis: RedisConnection; keys: Keyspace; logger: Logger },
): Channels {
  const { redis, keys, logger } = deps;
  const retryAfter: RetryAfterPolicy = {
    defaultMs: env.NOTIFIER_RETRY_AFTER_DEFAULT_MS,
    maxMs: env.NOTIFIER_RETRY_AFTER_MAX_MS,
  };
  const byName = new Map<Channel, NotificationChannel>();
  byName.set('console', createConsoleChannel(logger));

  const bot =
    env.SLACK_BOT_TOKEN && env.SLACK_CHANNEL
      ? { token: env.SLACK_BOT_TOKEN, channel: env.SLACK_CHANNEL, apiUrl: env.SLACK_API_URL }
      : undefined;
  if (bot || env.SLACK_WEBHOOK_URL) {
    byName.set(
      'slack',
      createSlackChannel({
        webhookUrl: env.SLACK_WEBHOOK_URL,
        bot,
        timeoutMs: env.NOTIFIER_HTTP_TIMEOUT_MS,
        retryAfter,
        redis,
        keys,
      }),
    );
    logger.info(
      { via: bot ? 'chat.postMessage (threads per incident)' : 'incoming webhook' },
      'slack enabled',
    );
  } else {
    logger.info('slack not configured (SLACK_WEBHOOK_URL or SLACK_BOT_TOKEN + SLACK_CHANNEL): skipping it');
  }

  if (env.PAGERDUTY_ROUTING_KEY) {
    byName.set(
      'pagerduty',
      createPagerDutyChannel({
        routingKey: env.PAGERDUTY_ROUTING_KEY,
        eventsUrl: env.PAGERDUTY_EVENTS_URL,
        timeoutMs: env.NOTIFIER_HTTP_TIMEOUT_MS,
        retryAfter,
        redis,
        keys,
      }),
    );
    logger.info('pagerduty enabled');
  } else {
    logger.info('pagerduty not configured (PAGERDUTY_ROUTING_KEY): skipping it');
  }

  let email: EmailChannel | undefined;
  if (env.SMTP_URL && env.EMAIL_TO) {
    email = createEmailChannel({
      smtpUrl: env.SMTP_URL,
      from: env.EMAIL_FROM,
      to: env.EMAIL_TO.split(',')
        .map((address) => address.trim())
        .filter(Boolean),
      mode: env.EMAIL_MODE,
      redis,
      keys,
    });
    byName.set('email', email);
    logger.info({ mode: env.EMAIL_MODE }, 'email enabled');
  } else {
    logger.info('email not configured (SMTP_URL, EMAIL_TO): skipping it');
  }

  const anyExternal = byName.size > 1;
  if (!anyExternal) logger.warn('no notification channel configured: every event is logged to the console');
  return {
    byName,
    anyExternal,
    email,
    async close() {
      await Promise.all([...byName.values()].map((channel) => channel.close?.()));
    },
  };
}
