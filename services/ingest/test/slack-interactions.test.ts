import { describe, expect, it } from 'vitest';
import { signSlackRequest, verifySlackSignature } from '../../../shared/slack-signature.js';
import { slackInteractionRequest } from '../../../test/support/fake-slack.js';
import { createSlackInteractionsApp, slackActor } from '../slack-interactions.js';

const secret = '8f742231b10e8888abcd99yyyzzz85a5';

function setup(answer: { ok: boolean; reason?: string } = { ok: true }) {
  const calls: { approvalId: string; decision: string; by: string }[] = [];
  const app = createSlackInteractionsApp({
    signingSecret: secret,
    decide: async (approvalId, decision, by) => {
      calls.push({ approvalId, decision, by });
      return answer;
    },
  });
  const post = (body: string, headers: Record<string, string>) =>
    app.request('/', { method: 'POST', body, headers });
  return { calls, post };
}

describe('verifySlackSignature', () => {
  // Slack's published example request (api.slack.com/authentication/verifying-requests-from-slack).
  const body =
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
  const example = {
    signingSecret: secret,
    timestamp: '1531420618',
    signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    rawBody: body,
    now: 1531420618 * 1000,
  };

  it("accepts Slack's documented example", () => {
    expect(signSlackRequest(secret, example.timestamp, body)).toBe(example.signature);
    expect(verifySlackSignature(example)).toEqual({ ok: true });
  });

  it('refuses a tampered body, a wrong secret and a truncated signature', () => {
    expect(verifySlackSignature({ ...example, rawBody: `${body}&x=1` })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifySlackSignature({ ...example, signingSecret: 'other' })).toMatchObject({ ok: false });
    expect(verifySlackSignature({ ...example, signature: example.signature.slice(0, -2) })).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses timestamps outside the 5-minute window either way, and accepts inside it', () => {
    const at = (deltaSeconds: number) => ({ ...example, now: (1531420618 + deltaSeconds) * 1000 });
    expect(verifySlackSignature(at(299))).toEqual({ ok: true });
    expect(verifySlackSignature(at(-299))).toEqual({ ok: true });
    expect(verifySlackSignature(at(301))).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(verifySlackSignature(at(-301))).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('refuses missing or malformed headers', () => {
    expect(verifySlackSignature({ ...example, timestamp: undefined })).toEqual({
      ok: false,
      reason: 'missing_headers',
    });
    expect(verifySlackSignature({ ...example, signature: null })).toEqual({
      ok: false,
      reason: 'missing_headers',
    });
    expect(verifySlackSignature({ ...example, timestamp: '15314x0618' })).toEqual({
      ok: false,
      reason: 'bad_timestamp',
    });
  });
});

describe('POST /slack/interactions', () => {
  it('turns a signed Approve click into an approval by the Slack user', async () => {
    const { calls, post } = setup();
    const request = slackInteractionRequest({
      signingSecret: secret,
      approvalId: 'apr_123',
      action: 'approve',
      user: { id: 'U1', username: 'jane.doe' },
    });
    const res = await post(request.body, request.headers);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ text: 'Approved by slack-jane.doe.' });
    expect(calls).toEqual([{ approvalId: 'apr_123', decision: 'approved', by: 'slack-jane.doe' }]);
  });

  it('turns Deny into a denial, naming the user by id when there is no username', async () => {
    const { calls, post } = setup();
    const request = slackInteractionRequest({
      signingSecret: secret,
      approvalId: 'apr_9',
      action: 'deny',
      user: { id: 'U777' },
    });
    expect((await post(request.body, request.headers)).status).toBe(200);
    expect(calls).toEqual([{ approvalId: 'apr_9', decision: 'denied', by: 'slack-U777' }]);
  });

  it('shows why a decision was refused', async () => {
    const { post } = setup({ ok: false, reason: 'already_approved' });
    const request = slackInteractionRequest({
      signingSecret: secret,
      approvalId: 'apr_1',
      action: 'approve',
    });
    const res = await post(request.body, request.headers);
    expect(res.status).toBe(200);
    expect((await res.json()).text).toContain('already_approved');
  });

  it('answers 401 and decides nothing for a tampered body', async () => {
    const { calls, post } = setup();
    const request = slackInteractionRequest({ signingSecret: secret, approvalId: 'apr_1', action: 'deny' });
    const tampered = request.body.replace('deny', 'approve');
    expect(tampered).not.toBe(request.body);
    const res = await post(tampered, request.headers);
    expect(res.status).toBe(401);
    expect(calls).toEqual([]);
  });

  it('answers 401 for a request signed with another secret', async () => {
    const { calls, post } = setup();
    const request = slackInteractionRequest({
      signingSecret: 'not-it',
      approvalId: 'apr_1',
      action: 'approve',
    });
    expect((await post(request.body, request.headers)).status).toBe(401);
    expect(calls).toEqual([]);
  });

  it('answers 401 for a replayed request older than five minutes', async () => {
    const { calls, post } = setup();
    const request = slackInteractionRequest({
      signingSecret: secret,
      approvalId: 'apr_1',
      action: 'approve',
      timestamp: Math.floor(Date.now() / 1000) - 6 * 60,
    });
    const res = await post(request.body, request.headers);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ details: 'stale_timestamp' });
    expect(calls).toEqual([]);
  });

  it.each(['x-slack-signature', 'x-slack-request-timestamp'])('answers 401 without %s', async (header) => {
    const { calls, post } = setup();
    const request = slackInteractionRequest({
      signingSecret: secret,
      approvalId: 'apr_1',
      action: 'approve',
    });
    const headers = { ...request.headers };
    delete headers[header];
    const res = await post(request.body, headers);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ details: 'missing_headers' });
    expect(calls).toEqual([]);
  });

  it('answers 400 for a signed body that is not a block_actions payload', async () => {
    const { calls, post } = setup();
    const body = 'payload=%7Bnot-json';
    const ts = String(Math.floor(Date.now() / 1000));
    const res = await post(body, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': signSlackRequest(secret, ts, body),
    });
    expect(res.status).toBe(400);
    expect(calls).toEqual([]);
  });

  it('sanitises the Slack user name into the approvals API alphabet', () => {
    expect(slackActor({ id: 'U1', username: 'Jane Doe <script>' })).toBe('slack-Jane_Doe__script_');
    expect(slackActor({ id: 'U1', username: '' })).toBe('slack-U1');
  });
});
