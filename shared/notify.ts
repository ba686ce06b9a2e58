import type { Queue } from 'bullmq';
import { randomId } from './ids.js';
import { type NotificationJob, notificationJobSchema } from './schemas/jobs.js';

export type NotificationInput = Omit<NotificationJob, 'eventId'> & { eventId?: string };

/** Any service → notifier. The eventId doubles as the BullMQ jobId, so re-sending one event is a no-op. */
export async function enqueueNotification(queue: Queue, input: NotificationInput): Promise<string> {
  const [eventId] = await enqueueNotifications(queue, [input]);
  return eventId as string;
}

/** Several events in one round trip (addBulk), each idempotent like enqueueNotification. */
export async function enqueueNotifications(queue: Queue, inputs: NotificationInput[]): Promise<string[]> {
  const jobs = inputs.map((input) =>
    notificationJobSchema.parse({ ...input, eventId: input.eventId ?? randomId('evt') }),
  );
  if (jobs.length > 0) {
    await queue.addBulk(jobs.map((job) => ({ name: job.event, data: job, opts: { jobId: job.eventId } })));
  }
  return jobs.map((job) => job.eventId);
}
