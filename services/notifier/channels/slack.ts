import { z } from 'zod';
import type { Keyspace } from '../../../shared/keys.js';
import type { RedisConnection } from '../../../shared/redis.js';
import { DeliveryError, httpError, postJson, type RetryAfterPolicy } from '../delivery-error.js';
import { headline, truncate } from '../format.js';
import type { Delivery, DeliveryResult, NotificationChannel } from '../types.js';
import { escapeMrkdwn, slackMessage } from './slack-message.js';

export interface SlackSettings {
  webhookUrl?: string | undefined;
  /** Web API: with a bot token, updates to an incident go to one thread. */
  bot?: { token: string; channel: string; apiUrl: string } | undefined;
  timeoutMs: number;
  retryAfter: RetryAfterPolicy;
  redis: RedisConnection;
  keys: Keyspace;
}

const THREAD_TTL_SECONDS = 30 * 24 * 3600;
/** Events that also show in the channel, not only in the incident's thread. */
const BROADCAST = new Set(['escalated', 'fixed', 'resolved', 'failed', 'breaker_open']);
/** Where an incident stands now: also edited into its first message, so the channel shows it. */
const OUTCOMES = new Set(['escalated', 'acknowledged', 'fixed', 'resolved', 'failed']);

/** The first message of an incident's thread, kept to edit its outcome into. */
const rootSchema = z.object({
  channel: z.string(),
  ts: z.string(),
  text: z.string(),
  blocks: z.array(z.record(z.string(), z.unknown())),
});
type Root = z.infer<typeof rootSchema>;
/** chat.postMessage `error` values worth retrying; every other one is a configuration or payload problem. */
const TRANSIENT_ERRORS = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);

const postMessageReplySchema = z.union([
  z.object({ ok: z.literal(true), ts: z.string(), channel: z.string().optional() }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);

export function createSlackChannel(settings: SlackSettings): NotificationChannel {
  return {
    name: 'slack',
    deliver: (delivery) =>
      settings.bot ? viaWebApi(settings, settings.bot, delivery) : viaWebhook(settings, delivery),
  };
}

async function viaWebhook(settings: SlackSettings, delivery: Delivery): Promise<DeliveryResult> {
  const url = settings.webhookUrl as string;
  const reply = await postJson(url, slackMessage(delivery), {
    timeoutMs: settings.timeoutMs,
    channel: 'slack webhook',
  });
  if (reply.status === 200) return { result: 'delivered' };
  throw httpError('slack webhook', reply, reply.text.trim() || 'no body', settings.retryAfter);
}

async function viaWebApi(
  settings: SlackSettings,
  bot: NonNullable<SlackSettings['bot']>,
  delivery: Delivery,
): Promise<DeliveryResult> {
  const threadKey = settings.keys.notify(`slack-thread:${delivery.notification.incidentId}`);
  const rootKey = settings.keys.notify(`slack-root:${delivery.notification.incidentId}`);
  const threadTs = await threadFor(settings, delivery, threadKey);
  const message = slackMessage(delivery);
  const body = {
    channel: bot.channel,
    ...message,
    unfurl_links: false,
    ...(threadTs ? { thread_ts: threadTs, reply_broadcast: BROADCAST.has(delivery.notification.event) } : {}),
  };
  const reply = await postJson(`${bot.apiUrl.replace(/\/$/, '')}/chat.postMessage`, body, {
    headers: { authorization: `Bearer ${bot.token}` },
    timeoutMs: settings.timeoutMs,
    channel: 'slack chat.postMessage',
  });
  if (reply.status !== 200)
    throw httpError('slack chat.postMessage', reply, reply.text.trim(), settings.retryAfter);
  const parsed = postMessageReplySchema.safeParse(safeJson(reply.text));
  if (!parsed.success) {
    throw new DeliveryError(
      'transient',
      `slack chat.postMessage: unexpected reply: ${reply.text.slice(0, 200)}`,
    );
  }
  const answer = parsed.data;
  if (!answer.ok) {
    const message = `slack chat.postMessage: ${answer.error}`;
    if (answer.error === 'ratelimited') {
      throw new DeliveryError('rate_limited', message, settings.retryAfter.defaultMs);
    }
    throw new DeliveryError(TRANSIENT_ERRORS.has(answer.error) ? 'transient' : 'permanent', message);
  }
  // The first message posted for an incident becomes its thread.
  if (!threadTs) {
    await settings.redis.set(threadKey, answer.ts, 'EX', THREAD_TTL_SECONDS, 'NX');
    const root: Root = { channel: answer.channel ?? bot.channel, ts: answer.ts, ...message };
    await settings.redis.set(rootKey, JSON.stringify(root), 'EX', THREAD_TTL_SECONDS, 'NX');
    return { result: 'delivered', detail: `ts ${answer.ts}` };
  }
  if (!OUTCOMES.has(delivery.notification.event)) return { result: 'delivered', detail: `ts ${answer.ts}` };
  // The reply is posted: editing the first message is best effort (a retry would post it twice).
  const edited = await editOutcome(settings, bot, rootKey, delivery).catch((error: Error) => error.message);
  return { result: 'delivered', detail: `ts ${answer.ts}; first message ${edited}` };
}

/**
 * chat.update of the thread's first message: what it said, without its buttons, plus where the
 * incident stands now. Each outcome replaces the previous one.
 */
async function editOutcome(
  settings: SlackSettings,
  bot: NonNullable<SlackSettings['bot']>,
  rootKey: string,
  delivery: Delivery,
): Promise<string> {
  const root = rootSchema.safeParse(safeJson((await settings.redis.get(rootKey)) ?? ''));
  if (!root.success) return 'not kept; not edited';
  const outcome = slackMessage(delivery);
  const summary = truncate(escapeMrkdwn(delivery.notification.text), 1_500);
  const reply = await postJson(
    `${bot.apiUrl.replace(/\/$/, '')}/chat.update`,
    {
      channel: root.data.channel,
      ts: root.data.ts,
      text: truncate(`${outcome.text}`, 3000),
      blocks: [
        ...root.data.blocks.filter((block) => block.type !== 'actions'),
        { type: 'divider' },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: truncate(`*Now:* ${escapeMrkdwn(headline(delivery))}\n${summary}`, 3000),
          },
        },
      ],
    },
    {
      headers: { authorization: `Bearer ${bot.token}` },
      timeoutMs: settings.timeoutMs,
      channel: 'slack chat.update',
    },
  );
  const answer = safeJson(reply.text) as { ok?: boolean; error?: string } | undefined;
  return reply.status === 200 && answer?.ok ? 'edited' : `not edited (${answer?.error ?? reply.status})`;
}

const THREAD_CLAIM_MS = 15_000;
const THREAD_WAIT_MS = 3_000;

/**
 * The incident's thread ts, or null when this delivery is the one that starts the thread. Concurrent
 * deliveries for a new incident race for a short claim; the losers wait for the winner's ts, and if
 * it does not appear in time they retry later rather than start a second thread.
 */
async function threadFor(
  settings: SlackSettings,
  delivery: Delivery,
  threadKey: string,
): Promise<string | null> {
  const existing = await settings.redis.get(threadKey);
  if (existing) return existing;
  const claimKey = `${threadKey}:claim`;
  const claimed = await settings.redis.set(
    claimKey,
    delivery.notification.eventId,
    'PX',
    THREAD_CLAIM_MS,
    'NX',
  );
  if (claimed || (await settings.redis.get(claimKey)) === delivery.notification.eventId) return null;
  const deadline = Date.now() + THREAD_WAIT_MS;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ts = await settings.redis.get(threadKey);
    if (ts) return ts;
  }
  throw new DeliveryError('transient', "slack: another delivery is starting this incident's thread");
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
