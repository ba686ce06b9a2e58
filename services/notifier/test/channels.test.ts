import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IncidentSummary } from '../../../shared/schemas/incident.js';
import { type FakePagerDuty, startFakePagerDuty } from '../../../test/support/fake-pagerduty.js';
import { type FakeSlack, startFakeSlack } from '../../../test/support/fake-slack.js';
import { openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import { createEmailChannel } from '../channels/email.js';
import { createPagerDutyChannel } from '../channels/pagerduty.js';
import { createSlackChannel } from '../channels/slack.js';
import { DeliveryError, parseRetryAfter } from '../delivery-error.js';
import type { Delivery } from '../types.js';
import { startSmtpSink } from './smtp-sink.js';

const retryAfter = { defaultMs: 5_000, maxMs: 60_000 };

function incident(overrides: Partial<IncidentSummary> = {}): IncidentSummary {
  return {
    id: 'inc_1',
    level: 3,
    status: 'open',
    alertname: 'DatabaseFailover',
    severity: 'critical',
    instance: 'db-01',
    service: 'orders-db',
    correlationKey: 'k',
    storm: false,
    priority: 1,
    alertCount: 1,
    firingCount: 1,
    labels: { alertname: 'DatabaseFailover' },
    annotations: { runbook_url: 'https://runbooks.example/db-failover', evil: 'javascript:alert(1)' },
    generatorURL: 'http://prometheus.test:9090/graph?g0.expr=up',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

function delivery(overrides: Partial<Delivery['notification']> = {}, inc = incident()): Delivery {
  return {
    notification: {
      eventId: 'evt_1',
      incidentId: inc.id,
      event: 'incident_opened',
      severity: 'critical',
      title: 'Database failover in progress',
      text: 'Primary <db-01> is down & replicas are promoting.',
      ...overrides,
    },
    incident: inc,
  };
}

async function rejection(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  return error as DeliveryError;
}

let t: TestRedis;
beforeEach(async () => {
  t = await openTestRedis();
});
afterEach(async () => {
  await t.close();
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates, falls back and caps', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', retryAfter, now)).toBe(3_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', retryAfter, now)).toBe(10_000);
    expect(parseRetryAfter(null, retryAfter, now)).toBe(5_000);
    expect(parseRetryAfter('soon', retryAfter, now)).toBe(5_000);
    expect(parseRetryAfter('3600', retryAfter, now)).toBe(60_000);
  });
});

describe('slack incoming webhook', () => {
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = await startFakeSlack();
  });
  afterAll(async () => {
    await slack.close();
  });

  const channel = () =>
    createSlackChannel({
      webhookUrl: slack.webhookUrl,
      timeoutMs: 5_000,
      retryAfter,
      redis: t.redis,
      keys: t.keys,
    });

  it('posts Block Kit with header, facts, escaped text and safe links only', async () => {
    const before = slack.posted().length;
    expect(await channel().deliver(delivery())).toEqual({ result: 'delivered' });
    const post = slack.posted()[before];
    expect(post?.kind).toBe('webhook');
    const blocks = post?.body.blocks as {
      type: string;
      text?: { text: string };
      elements?: { text: string }[];
    }[];
    expect(blocks[0]).toMatchObject({ type: 'header', text: { text: '[L3] Database failover in progress' } });
    expect(JSON.stringify(blocks)).toContain('Primary &lt;db-01&gt; is down &amp; replicas');
    const context = blocks.find((b) => b.type === 'context');
    expect(context?.elements?.map((e) => e.text)).toEqual([
      '<http://prometheus.test:9090/graph?g0.expr=up|Alert source>',
      '<https://runbooks.example/db-failover|Runbook>',
    ]);
    expect(JSON.stringify(blocks)).not.toContain('javascript:');
  });

  it('escapes alert and model words in every field, the fallback text included', async () => {
    const before = slack.posted().length;
    const hostile = '<!channel> <!here> <!everyone> <https://evil.example|Approve in Slack> & <@U123>';
    await channel().deliver(delivery({ title: hostile, text: hostile }));
    const body = slack.posted()[before]?.body as { text: string; blocks: unknown[] };
    // Every field Slack parses as mrkdwn (plain_text, like the header, is shown as written).
    const mrkdwn: string[] = [body.text];
    JSON.stringify(body.blocks, (_key, value) => {
      if (value && typeof value === 'object' && value.type === 'mrkdwn') mrkdwn.push(value.text);
      return value;
    });
    expect(mrkdwn.length).toBeGreaterThan(2);
    for (const field of mrkdwn)
      expect(field).not.toMatch(/<!channel>|<!here>|<!everyone>|<https:\/\/evil|<@U123>/);
    expect(body.text).toContain('&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt;');
    expect(body.text).toContain('&lt;https://evil.example|Approve in Slack&gt; &amp; &lt;@U123&gt;');
  });

  it('honours 429 Retry-After', async () => {
    slack.script({ status: 429, retryAfterSeconds: 7 });
    const error = await rejection(channel().deliver(delivery()));
    expect(error.kind).toBe('rate_limited');
    expect(error.retryAfterMs).toBe(7_000);
  });

  it("fails fast on 4xx with Slack's error text, and retries 5xx", async () => {
    slack.script({ status: 404, text: 'no_service' });
    const permanent = await rejection(channel().deliver(delivery()));
    expect(permanent.kind).toBe('permanent');
    expect(permanent.message).toContain('no_service');
    slack.script({ status: 500, text: 'rollup_error' });
    expect((await rejection(channel().deliver(delivery()))).kind).toBe('transient');
  });

  it('carries Approve / Deny buttons with the approval id', async () => {
    const before = slack.posted().length;
    await channel().deliver(delivery({ event: 'approval_requested', approvalId: 'apr_42' }));
    const actions = (
      (slack.posted()[before]?.body.blocks ?? []) as { type: string; elements?: unknown[] }[]
    ).find((b) => b.type === 'actions');
    expect(actions?.elements).toEqual([
      expect.objectContaining({ type: 'button', action_id: 'approve', value: 'apr_42' }),
      expect.objectContaining({ type: 'button', action_id: 'deny', value: 'apr_42' }),
    ]);
  });
});

describe('slack chat.postMessage', () => {
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = await startFakeSlack();
  });
  afterAll(async () => {
    await slack.close();
  });

  const channel = (token = slack.token, name = slack.channel) =>
    createSlackChannel({
      bot: { token, channel: name, apiUrl: slack.apiUrl },
      timeoutMs: 5_000,
      retryAfter,
      redis: t.redis,
      keys: t.keys,
    });

  it('threads every update to an incident under its first message', async () => {
    const before = slack.posted().length;
    await channel().deliver(delivery());
    await channel().deliver(delivery({ eventId: 'evt_2', event: 'diagnosis', title: 'Diagnosis' }));
    await channel().deliver(delivery({ eventId: 'evt_3', event: 'resolved', title: 'Resolved' }));
    const [first, second, third] = slack.posted().slice(before);
    expect(first?.body.thread_ts).toBeUndefined();
    expect(first?.headers.authorization).toBe(`Bearer ${slack.token}`);
    expect(second?.body.thread_ts).toBe(first?.ts);
    expect(third?.body).toMatchObject({ thread_ts: first?.ts, reply_broadcast: true });
  });

  it('edits where the incident stands into its first message, without the buttons', async () => {
    const before = slack.updated().length;
    await channel().deliver(
      delivery({ event: 'approval_requested', approvalId: 'apr_7', title: 'Approval needed' }),
    );
    const root = slack.posted().at(-1);
    const reply = await channel().deliver(
      delivery({ eventId: 'evt_2', event: 'diagnosis', title: 'Diagnosis' }),
    );
    expect(reply.detail).toMatch(/^ts \S+$/);
    expect(slack.updated().length).toBe(before);

    const escalated = await channel().deliver(
      delivery({
        eventId: 'evt_3',
        event: 'escalated',
        title: 'HighLatency on api-server-03: escalated',
        text: 'No fix was applied.\nrestart_service failed: systemctl exited with 1: Unit <api>.service not found',
      }),
    );
    expect(escalated.detail).toMatch(/; first message edited$/);
    const edit = slack.updated().at(-1);
    expect(edit?.body).toMatchObject({ channel: slack.channel, ts: root?.ts });
    const blocks = edit?.body.blocks as { type: string; text?: { text: string } }[];
    expect(blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(blocks.at(-1)?.text?.text).toBe(
      '*Now:* [L3] HighLatency on api-server-03: escalated\nNo fix was applied.\nrestart_service failed: systemctl exited with 1: Unit &lt;api&gt;.service not found',
    );
    // The first message's own content stays, above the outcome.
    expect(blocks[0]).toEqual(root?.body.blocks[0]);

    await channel().deliver(
      delivery({ eventId: 'evt_4', event: 'resolved', title: 'resolved by bob', text: 'bob resolved it.' }),
    );
    const last = slack.updated().at(-1)?.body.blocks as { text?: { text: string } }[];
    expect(last.at(-1)?.text?.text).toBe('*Now:* [L3] resolved by bob\nbob resolved it.');
    expect(last.filter((b) => b.text?.text.startsWith('*Now:*'))).toHaveLength(1);
  });

  it('fails fast on ok:false errors such as channel_not_found and invalid_auth', async () => {
    const notFound = await rejection(channel(slack.token, 'C-missing').deliver(delivery()));
    expect(notFound).toMatchObject({
      kind: 'permanent',
      message: 'slack chat.postMessage: channel_not_found',
    });
    const badAuth = await rejection(channel('xoxb-wrong').deliver(delivery()));
    expect(badAuth.message).toContain('invalid_auth');
  });

  it('retries transient ok:false errors and honours 429 Retry-After', async () => {
    slack.script({ okFalse: 'internal_error' });
    expect((await rejection(channel().deliver(delivery()))).kind).toBe('transient');
    slack.script({ status: 429, retryAfterSeconds: 2 });
    expect(await rejection(channel().deliver(delivery()))).toMatchObject({
      kind: 'rate_limited',
      retryAfterMs: 2_000,
    });
  });
});

describe('pagerduty events v2', () => {
  let pd: FakePagerDuty;
  beforeAll(async () => {
    pd = await startFakePagerDuty();
  });
  afterAll(async () => {
    await pd.close();
  });
  const channel = (routingKey = pd.routingKey) =>
    createPagerDutyChannel({
      routingKey,
      eventsUrl: pd.eventsUrl,
      timeoutMs: 5_000,
      retryAfter,
      redis: t.redis,
      keys: t.keys,
    });

  it('triggers with dedup_key = incident id, acknowledges and resolves the same alert', async () => {
    const inc = incident({ id: `inc_${t.prefix}` });
    expect(await channel().deliver(delivery({}, inc))).toMatchObject({
      result: 'delivered',
      detail: 'trigger',
    });
    const trigger = pd.accepted().at(-1)?.body;
    expect(trigger).toMatchObject({
      routing_key: pd.routingKey,
      event_action: 'trigger',
      dedup_key: inc.id,
      payload: {
        source: 'db-01',
        severity: 'critical',
        component: 'orders-db',
        custom_details: { incident_id: inc.id, level: 3 },
      },
    });
    expect(trigger.payload.summary).toContain('[L3] Database failover in progress');
    expect(trigger.links).toContainEqual({ href: 'https://runbooks.example/db-failover', text: 'Runbook' });

    await channel().deliver(delivery({ eventId: 'e2', event: 'diagnosis' }, inc));
    expect(pd.alerts.get(inc.id)).toBe('acknowledged');
    await channel().deliver(delivery({ eventId: 'e3', event: 'resolved' }, inc));
    expect(pd.alerts.get(inc.id)).toBe('resolved');
  });

  it('does not acknowledge or resolve an incident it never paged', async () => {
    const inc = incident({ id: `inc_quiet_${t.prefix}` });
    const count = pd.requests.length;
    expect(await channel().deliver(delivery({ event: 'resolved' }, inc))).toMatchObject({
      result: 'skipped',
    });
    expect(await channel().deliver(delivery({ event: 'message' }, inc))).toMatchObject({ result: 'skipped' });
    expect(pd.requests.length).toBe(count);
  });

  it("fails fast on 400 with PagerDuty's message and errors", async () => {
    const error = await rejection(channel('wrong-key').deliver(delivery()));
    expect(error.kind).toBe('permanent');
    expect(error.message).toContain('Event object is invalid');
    expect(error.message).toContain("'routing_key' is invalid");
  });

  it('pauses on 429 and retries 5xx', async () => {
    pd.script({ status: 429 });
    expect(await rejection(channel().deliver(delivery()))).toMatchObject({
      kind: 'rate_limited',
      retryAfterMs: retryAfter.defaultMs,
    });
    pd.script({ status: 503 });
    expect((await rejection(channel().deliver(delivery()))).kind).toBe('transient');
  });
});

describe('email over SMTP', () => {
  it('sends plain text and HTML to every recipient', async () => {
    const smtp = await startSmtpSink();
    const email = createEmailChannel({
      smtpUrl: smtp.url,
      from: 'hermes@example.com',
      to: ['oncall@example.com', 'sre@example.com'],
      mode: 'event',
      redis: t.redis,
      keys: t.keys,
    });
    try {
      expect(await email.deliver(delivery())).toMatchObject({ result: 'delivered' });
      const [mail] = smtp.messages;
      expect(mail?.to).toEqual(['oncall@example.com', 'sre@example.com']);
      expect(mail?.from).toBe('hermes@example.com');
      expect(mail?.raw).toContain('Subject: [Hermes] [L3] Database failover in progress');
      expect(mail?.raw).toContain('Content-Type: text/plain');
      expect(mail?.raw).toContain('Content-Type: text/html');
      expect(mail?.raw).toContain('&lt;db-01&gt;');
    } finally {
      await email.close?.();
      await smtp.close();
    }
  });

  it('treats an SMTP 5xx reply as permanent', async () => {
    const smtp = await startSmtpSink({ rejectWith: { code: 554, message: 'Message rejected as spam' } });
    const email = createEmailChannel({
      smtpUrl: smtp.url,
      from: 'hermes@example.com',
      to: ['oncall@example.com'],
      mode: 'event',
      redis: t.redis,
      keys: t.keys,
    });
    try {
      const error = await rejection(email.deliver(delivery()));
      expect(error.kind).toBe('permanent');
      expect(error.message).toContain('rejected as spam');
    } finally {
      await email.close?.();
      await smtp.close();
    }
  });

  it('in digest mode queues events and sends them together, once', async () => {
    const smtp = await startSmtpSink();
    const email = createEmailChannel({
      smtpUrl: smtp.url,
      from: 'hermes@example.com',
      to: ['oncall@example.com'],
      mode: 'digest',
      redis: t.redis,
      keys: t.keys,
    });
    try {
      expect(await email.deliver(delivery())).toMatchObject({ result: 'queued' });
      await email.deliver(delivery({ eventId: 'evt_2', title: 'Second thing' }));
      expect(smtp.messages).toHaveLength(0);
      expect(await email.flushDigest()).toBe(2);
      expect(await email.flushDigest()).toBe(0);
      expect(smtp.messages).toHaveLength(1);
      expect(smtp.messages[0]?.raw).toContain('Subject: [Hermes] digest: 2 notifications');
      expect(smtp.messages[0]?.raw).toContain('Second thing');
    } finally {
      await email.close?.();
      await smtp.close();
    }
  });
});
