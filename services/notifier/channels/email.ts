import nodemailer from 'nodemailer';
import type { Keyspace } from '../../../shared/keys.js';
import type { RedisConnection } from '../../../shared/redis.js';
import { DeliveryError } from '../delivery-error.js';
import type { Delivery, NotificationChannel } from '../types.js';
import { type EmailContent, emailDigest, emailForEvent } from './email-message.js';

export interface EmailSettings {
  smtpUrl: string;
  from: string;
  to: string[];
  mode: 'event' | 'digest';
  redis: RedisConnection;
  keys: Keyspace;
}

export interface EmailChannel extends NotificationChannel {
  /** Digest mode: sends everything queued so far as one email; returns how many it contained. */
  flushDigest(): Promise<number>;
}

export function createEmailChannel(settings: EmailSettings): EmailChannel {
  const transport = nodemailer.createTransport(settings.smtpUrl);
  const digestKey = settings.keys.notify('email-digest');

  async function send(content: EmailContent): Promise<string> {
    try {
      const info = await transport.sendMail({ from: settings.from, to: settings.to, ...content });
      return info.messageId;
    } catch (error) {
      throw smtpError(error);
    }
  }

  return {
    name: 'email',
    async deliver(delivery) {
      if (settings.mode === 'digest') {
        await settings.redis.rpush(digestKey, JSON.stringify(delivery));
        return { result: 'queued', detail: 'email digest' };
      }
      return { result: 'delivered', detail: await send(emailForEvent(delivery)) };
    },
    async flushDigest() {
      const raw = await settings.redis.lrange(digestKey, 0, -1);
      if (raw.length === 0) return 0;
      await send(emailDigest(raw.map((item) => JSON.parse(item) as Delivery)));
      // Trim only what was sent: entries queued meanwhile stay for the next digest.
      await settings.redis.ltrim(digestKey, raw.length, -1);
      return raw.length;
    },
    async close() {
      transport.close();
    },
  };
}

/** SMTP 5xx replies are permanent; 4xx replies and connection problems are worth retrying. */
function smtpError(error: unknown): DeliveryError {
  const smtp = error as { responseCode?: number; response?: string; message?: string };
  const message = `email: ${smtp.response ?? smtp.message ?? String(error)}`;
  const permanent = typeof smtp.responseCode === 'number' && smtp.responseCode >= 500;
  return new DeliveryError(permanent ? 'permanent' : 'transient', message);
}
