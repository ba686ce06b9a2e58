import { approvalAnswerHint } from '../../../shared/notices.js';
import { detailRows, facts, headline, links } from '../format.js';
import type { Delivery } from '../types.js';

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function approvalHint(delivery: Delivery): string | null {
  const id = delivery.notification.approvalId;
  if (delivery.notification.event !== 'approval_requested' || !id) return null;
  return approvalAnswerHint(id);
}

function textSection(delivery: Delivery): string {
  const lines = [headline(delivery), '', ...facts(delivery).map(([label, value]) => `${label}: ${value}`)];
  lines.push('', delivery.notification.text);
  const details = detailRows(delivery, 2_000);
  if (details.length > 0) lines.push('', ...details.map(([key, value]) => `${key}: ${value}`));
  const hint = approvalHint(delivery);
  if (hint) lines.push('', hint);
  const linkList = links(delivery);
  if (linkList.length > 0) lines.push('', ...linkList.map((link) => `${link.text}: ${link.url}`));
  return lines.join('\n');
}

function htmlSection(delivery: Delivery): string {
  const rows = facts(delivery)
    .map(
      ([label, value]) => `<tr><th align="left">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`,
    )
    .join('');
  const details = detailRows(delivery, 2_000)
    .map(([key, value]) => `<li><b>${escapeHtml(key)}</b>: ${escapeHtml(value)}</li>`)
    .join('');
  const linkList = links(delivery)
    .map((link) => `<a href="${escapeHtml(link.url)}">${escapeHtml(link.text)}</a>`)
    .join(' · ');
  const hint = approvalHint(delivery);
  return [
    `<h2>${escapeHtml(headline(delivery))}</h2>`,
    `<table>${rows}</table>`,
    `<p style="white-space:pre-wrap">${escapeHtml(delivery.notification.text)}</p>`,
    details ? `<ul>${details}</ul>` : '',
    hint ? `<p><b>${escapeHtml(hint)}</b></p>` : '',
    linkList ? `<p>${linkList}</p>` : '',
  ].join('\n');
}

/** A header is one line: line breaks and other controls from alerts or the model become spaces. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
}

export function emailForEvent(delivery: Delivery): EmailContent {
  return {
    subject: oneLine(`[Hermes] ${headline(delivery)}`),
    text: textSection(delivery),
    html: `<!doctype html><html><body>${htmlSection(delivery)}</body></html>`,
  };
}

export function emailDigest(deliveries: Delivery[]): EmailContent {
  return {
    subject: `[Hermes] digest: ${deliveries.length} notification${deliveries.length === 1 ? '' : 's'}`,
    text: deliveries.map(textSection).join('\n\n----------------------------------------\n\n'),
    html: `<!doctype html><html><body>${deliveries.map(htmlSection).join('<hr>')}</body></html>`,
  };
}
