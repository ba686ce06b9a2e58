import { detailRows, facts, headline, links, truncate } from '../format.js';
import type { Delivery } from '../types.js';

/** Slack mrkdwn control characters (api.slack.com/reference/surfaces/formatting#escaping). */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

/** Block Kit: header, facts, what happened, details, links, and Approve / Deny for approval requests. */
export function slackMessage(delivery: Delivery): SlackMessage {
  const { notification } = delivery;
  const title = headline(delivery);
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(title, 150), emoji: true } },
    {
      type: 'section',
      fields: facts(delivery)
        .slice(0, 10)
        .map(([label, value]) => ({
          type: 'mrkdwn',
          text: truncate(`*${label}*\n${escapeMrkdwn(value)}`, 2000),
        })),
    },
  ];
  if (notification.text) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: truncate(escapeMrkdwn(notification.text), 3000) },
    });
  }
  const details = detailRows(delivery);
  if (details.length > 0) {
    const lines = details.map(([key, value]) => `*${escapeMrkdwn(key)}*: ${escapeMrkdwn(value)}`).join('\n');
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(lines, 3000) } });
  }
  const linkList = links(delivery);
  if (linkList.length > 0) {
    blocks.push({
      type: 'context',
      elements: linkList.map((link) => ({
        type: 'mrkdwn',
        text: `<${link.url.replace(/[|>]/g, encodeURIComponent)}|${escapeMrkdwn(link.text)}>`,
      })),
    });
  }
  if (notification.event === 'approval_requested' && notification.approvalId) {
    blocks.push({
      type: 'actions',
      block_id: 'approval',
      elements: [
        {
          type: 'button',
          action_id: 'approve',
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
          value: notification.approvalId,
        },
        {
          type: 'button',
          action_id: 'deny',
          style: 'danger',
          text: { type: 'plain_text', text: 'Deny' },
          value: notification.approvalId,
        },
      ],
    });
  }
  // The fallback text shows in notifications and where blocks are not rendered: it is mrkdwn too, so
  // alert and model words in it could ping <!channel> or dress a link as a button.
  return { text: truncate(escapeMrkdwn(`${title}: ${notification.text}`), 3000), blocks };
}
