import type { z } from 'zod';
import type { IncidentSummary } from '../../shared/schemas/incident.js';
import type { Channel, notificationJobSchema } from '../../shared/schemas/jobs.js';

export type Notification = z.infer<typeof notificationJobSchema>;

/** One notification on its way to one channel, with the incident as it is now (null if unknown). */
export interface Delivery {
  notification: Notification;
  incident: IncidentSummary | null;
}

/** `queued`: accepted for a later batch (email digest). `skipped`: nothing to send for this event. */
export interface DeliveryResult {
  result: 'delivered' | 'queued' | 'skipped';
  detail?: string;
}

/** Throws DeliveryError when it could not deliver. */
export interface NotificationChannel {
  readonly name: Channel;
  deliver(delivery: Delivery): Promise<DeliveryResult>;
  close?(): Promise<void>;
}
