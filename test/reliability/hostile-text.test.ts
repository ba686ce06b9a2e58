/**
 * Text from alerts and the model, fuzzed into every place a human reads it: the terminal (CLI), Slack
 * and email. Whatever the strings hold (control sequences, Slack mentions and links, HTML, prototype
 * names, lone surrogates), none of it reaches a human as anything but text.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { printable, printableJson, TERMINAL_UNSAFE } from '../../bin/printable.js';
import { emailForEvent } from '../../services/notifier/channels/email-message.js';
import { slackMessage } from '../../services/notifier/channels/slack-message.js';
import type { Delivery } from '../../services/notifier/types.js';
import type { IncidentSummary } from '../../shared/schemas/incident.js';

const RUNS = Number(process.env.RELIABILITY_PROPERTY_RUNS ?? 60) * 3;
let tried = 0;
afterAll(() => console.log(`[reliability] hostile texts rendered: ${tried}`));

const SLACK_CONTROL = ['<!channel>', '<!here>', '<!everyone>', '<https://evil.example|Approve>', '<@U123>'];
const hostile = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        ...SLACK_CONTROL,
        '\u001b]52;c;ZWNobyBoaQ==\u0007',
        '\u001b[2J',
        '\u001b]8;;https://evil.example\u001b\\\\link\u001b]8;;\u001b\\\\',
        '\u009b31m',
        '\u202e',
        '<script>alert(1)</script>',
        '<a href="javascript:alert(1)">x</a>',
        '__proto__',
        'constructor',
        '\ud800',
      ),
      fc.string({ unit: 'binary', maxLength: 12 }),
    ),
    { minLength: 1, maxLength: 5 },
  )
  .map((parts) => parts.join(''));

function delivery(words: string[]): Delivery {
  const [title = '', text = '', alertname = '', instance = '', service = '', label = ''] = words;
  const incident: IncidentSummary = {
    id: 'inc_fuzz',
    level: 2,
    status: 'escalated',
    alertname,
    severity: 'critical',
    instance,
    service,
    correlationKey: 'k',
    storm: false,
    priority: 1,
    alertCount: 1,
    firingCount: 1,
    labels: { alertname, [label]: text },
    annotations: { description: text, [label]: title },
    generatorURL: 'http://prometheus.test:9090/graph?g0.expr=up',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
  return {
    notification: {
      eventId: 'evt_fuzz',
      incidentId: incident.id,
      event: 'escalated',
      severity: 'critical',
      title,
      text,
      details: { [label]: text, reason: title },
    },
    incident,
  };
}

describe('hostile text reaches humans only as text', () => {
  it('the CLI shows no terminal control character, and its JSON still parses to the same value', () => {
    fc.assert(
      fc.property(hostile, fc.dictionary(hostile, hostile, { maxKeys: 4 }), (text, record) => {
        tried++;
        expect(printable(text)).not.toMatch(TERMINAL_UNSAFE);
        const json = printableJson({ text, record });
        expect(json).not.toMatch(TERMINAL_UNSAFE);
        expect(JSON.parse(json)).toEqual({ text, record });
      }),
      { numRuns: RUNS },
    );
  });

  it('Slack: no mention, link or mrkdwn control from alerts or the model in any field, fallback text included', () => {
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 6, maxLength: 6 }), (words) => {
        tried++;
        const message = slackMessage(delivery(words));
        const mrkdwn: string[] = [message.text];
        JSON.stringify(message.blocks, (_key, value) => {
          if (value && typeof value === 'object' && value.type === 'mrkdwn') mrkdwn.push(value.text);
          return value;
        });
        for (const field of mrkdwn)
          for (const control of SLACK_CONTROL) expect(field, field).not.toContain(control);
      }),
      { numRuns: RUNS },
    );
  });

  it('email: the HTML part holds no markup from alerts or the model', () => {
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 6, maxLength: 6 }), (words) => {
        tried++;
        const email = emailForEvent(delivery(words));
        expect(email.html).not.toMatch(/<script|<a href="javascript:|<!channel>/i);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
        expect(email.subject).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
      }),
      { numRuns: RUNS },
    );
  });
});
