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
  const fleetButtons = fleetActions(delivery);
  if (fleetButtons) blocks.push(fleetButtons);
  // The fallback text shows in notifications and where blocks are not rendered: it is mrkdwn too, so
  // alert and model words in it could ping <!channel> or dress a link as a button.
  return { text: truncate(escapeMrkdwn(`${title}: ${notification.text}`), 3000), blocks };
}

/** Slack allows 25 elements in an actions block: one is Cancel held. */
const MAX_RELEASE_BUTTONS = 24;

/**
 * The fleet incident's page: "Release <region>" per region it fires in, and "Cancel held"
 * (services/ingest/slack-interactions.ts carries them out as the API's release and cancel-held do).
 */
function fleetActions(delivery: Delivery): Record<string, unknown> | undefined {
  const { notification } = delivery;
  if (notification.event !== 'fleet_opened') return undefined;
  const listed = notification.details?.regions;
  const regions = Array.isArray(listed)
    ? listed.filter((region): region is string => typeof region === 'string')
    : [];
  const release = regions.slice(0, MAX_RELEASE_BUTTONS).map((region, i) => ({
    type: 'button',
    action_id: `fleet_release_${i}`,
    text: { type: 'plain_text', text: truncate(`Release ${region}`, 75) },
    value: JSON.stringify({ fleetId: notification.incidentId, region }),
  }));
  return {
    type: 'actions',
    block_id: 'fleet',
    elements: [
      ...release,
      {
        type: 'button',
        action_id: 'fleet_cancel',
        style: 'danger',
        text: { type: 'plain_text', text: 'Cancel held' },
        value: notification.incidentId,
      },
    ],
  };
}
