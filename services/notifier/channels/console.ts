import type { Logger } from '../../../shared/logger.js';
import { headline } from '../format.js';
import type { NotificationChannel } from '../types.js';

/** One log line per event: the channel of last resort when nothing else is configured. */
export function createConsoleChannel(logger: Logger): NotificationChannel {
  return {
    name: 'console',
    async deliver(delivery) {
      const { notification } = delivery;
      logger.info(
        {
          notification: {
            eventId: notification.eventId,
            incidentId: notification.incidentId,
            event: notification.event,
            severity: notification.severity,
            approvalId: notification.approvalId,
            text: notification.text,
          },
        },
        headline(delivery),
      );
      return { result: 'delivered' };
    },
  };
}
