import type { Queue } from 'bullmq';
import { z } from 'zod';
import type { Keyspace } from './keys.js';
import type { Logger } from './logger.js';
import { enqueueNotifications } from './notify.js';
import type { NoticeSource } from './queues.js';
import type { RedisConnection } from './redis.js';
import { type NotificationJob, notificationJobSchema } from './schemas/jobs.js';

const outboxEntrySchema = z.object({
  recordedMs: z.number(),
  job: notificationJobSchema,
});

/**
 * The outbox field for a notice, for writers that record it from TypeScript (or hand it to a
 * script). Scripts that fill in the notice themselves record it with `record_notice` from
 * shared/lua/includes/outbox-entry.lua, the one Lua spelling of this shape (test/shared/outbox-entry.test.ts).
 */
export function outboxEntry(job: NotificationJob, nowMs = Date.now()): string {
  return JSON.stringify({ recordedMs: nowMs, job: notificationJobSchema.parse(job) });
}

/**
 * Notifications recorded in the same Redis script as the state change they announce (a hash
 * eventId → entry), so that a process dying between the change and the enqueue cannot lose them:
 * the writer queues the job right after the change and clears the entry; the notifier's relay
 * queues whatever a dead writer left behind. The eventId is the job id, so queueing twice is a no-op.
 *
 * Two other recoveries bring notices back too, each because it re-does work that no outbox entry
 * could: a webhook retried after ingest died between storing a new incident and queueing its
 * triage job announces the incident again and queues the job (intake's `pending`; incident_opened
 * is not recorded here), and the executor's sweeper settles a human's approval decision whose
 * decider died before its consequences (the approved action queued, the records, then the notice:
 * the approvals' unsettled set). Recording those notices here as well would add nothing.
 */
export class NotificationOutbox {
  private readonly key: string;

  /** One source's outbox; `queue` is that source's notifications queue. */
  constructor(
    private readonly redis: RedisConnection,
    keys: Keyspace,
    readonly source: NoticeSource,
    private readonly queue: Queue,
  ) {
    this.key = keys.outbox(source);
  }

  /** Queues a notice its writer recorded, then clears it. */
  async deliver(job: NotificationJob): Promise<void> {
    await enqueueNotifications(this.queue, [job]);
    await this.redis.hdel(this.key, job.eventId);
  }

  /** Queues a notice a script recorded, by its event id (nothing if it is no longer there). */
  async deliverRecorded(eventId: string): Promise<void> {
    const raw = await this.redis.hget(this.key, eventId);
    const entry = raw === null ? null : parseEntry(raw);
    // An unreadable entry stays for the relay, which logs and drops it.
    if (entry) await this.deliver(entry.job);
  }

  /** Queues the notices recorded at least `minAgeMs` ago (their writers are presumed dead). */
  async relay(minAgeMs: number, logger: Logger, nowMs = Date.now()): Promise<number> {
    const recorded = await this.redis.hgetall(this.key);
    let relayed = 0;
    for (const [eventId, raw] of Object.entries(recorded)) {
      const entry = parseEntry(raw);
      if (!entry) {
        logger.error({ eventId, entry: raw.slice(0, 500) }, 'unreadable outbox entry dropped');
        await this.redis.hdel(this.key, eventId);
        continue;
      }
      if (nowMs - entry.recordedMs < minAgeMs) continue;
      await this.deliver(entry.job);
      relayed++;
    }
    return relayed;
  }
}

function parseEntry(raw: string) {
  try {
    const parsed = outboxEntrySchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
