import type { Queue } from 'bullmq';
import { randomId } from './ids.js';
import { type NotificationJob, notificationJobSchema } from './schemas/jobs.js';

export type NotificationInput = Omit<NotificationJob, 'eventId'> & { eventId?: string };

/** Any service → notifier. The eventId doubles as the BullMQ jobId, so re-sending one event is a no-op. */
export async function enqueueNotification(queue: Queue, input: NotificationInput): Promise<string> {
  const job = notificationJobSchema.parse({ ...input, eventId: input.eventId ?? randomId('evt') });
  await queue.add(job.event, job, { jobId: job.eventId });
  return job.eventId;
}
