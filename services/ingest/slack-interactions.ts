import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { Logger } from '../../shared/logger.js';
import { slackClickReply } from '../../shared/notices.js';
import { verifySlackSignature } from '../../shared/slack-signature.js';
import type { HeldChangeRequests } from './fleet/held-change-requests.js';

export type SlackDecision = 'approved' | 'denied';

export interface SlackInteractionsDeps {
  signingSecret: string;
  decide: (
    approvalId: string,
    decision: SlackDecision,
    by: string,
  ) => Promise<{ ok: boolean; reason?: string }>;
  /** A fleet incident page's Release <region> / Cancel held buttons (fleet/held-change-requests.ts). */
  held?: Pick<HeldChangeRequests, 'release' | 'cancel'>;
  logger?: Logger;
}

const MAX_BODY_BYTES = 1024 * 1024;

/** The part of Slack's `block_actions` payload this app reads. */
const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().min(1), username: z.string().optional(), name: z.string().optional() }),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).min(1),
});

const DECISIONS: Record<string, SlackDecision> = { approve: 'approved', deny: 'denied' };
const FLEET_RELEASE = /^fleet_release_\d+$/;
const releaseValueSchema = z.object({ fleetId: z.string().min(1), region: z.string().min(1) });

/** Slack mrkdwn control characters in a reply: regions and reasons are data. */
function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** `slack-<username or id>`, reduced to the characters the approvals API accepts for `by`. */
export function slackActor(user: { id: string; username?: string | undefined }): string {
  const name = (user.username || user.id).replace(/[^A-Za-z0-9_.@+-]/g, '_');
  return `slack-${name}`.slice(0, 100);
}

/**
 * Slack's interactivity endpoint (mounted by ingest at /slack/interactions): verifies the v0 signature
 * over the raw body, then turns an Approve / Deny click into the same decision as the approvals API.
 */
export function createSlackInteractionsApp(deps: SlackInteractionsDeps): Hono {
  const app = new Hono();
  app.post(
    '/',
    bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: 'body too large' }, 413) }),
    async (c) => {
      const rawBody = await c.req.text();
      const check = verifySlackSignature({
        signingSecret: deps.signingSecret,
        timestamp: c.req.header('x-slack-request-timestamp'),
        signature: c.req.header('x-slack-signature'),
        rawBody,
      });
      if (!check.ok) {
        deps.logger?.warn({ reason: check.reason }, 'slack interaction refused');
        return c.json({ error: 'invalid slack signature', details: check.reason }, 401);
      }

      const payload = parsePayload(rawBody);
      if (!payload.success) {
        return c.json({ error: 'invalid slack payload', details: payload.error }, 400);
      }
      const fleetAction = payload.data.actions.find(
        (a) => a.action_id === 'fleet_cancel' || FLEET_RELEASE.test(a.action_id),
      );
      if (fleetAction?.value && deps.held)
        return c.json(
          await fleetClick(
            deps.held,
            fleetAction as { action_id: string; value: string },
            slackActor(payload.data.user),
            deps.logger,
          ),
        );
      const action = payload.data.actions.find((a) => a.action_id in DECISIONS);
      if (!action?.value) return c.json({ text: slackClickReply({ kind: 'nothing_to_do' }) });

      const decision = DECISIONS[action.action_id] as SlackDecision;
      const by = slackActor(payload.data.user);
      try {
        const result = await deps.decide(action.value, decision, by);
        deps.logger?.info({ approvalId: action.value, decision, by, ...result }, 'slack approval decision');
        if (!result.ok) {
          return c.json({
            replace_original: false,
            text: slackClickReply({ kind: 'refused', reason: result.reason }),
          });
        }
        return c.json({ replace_original: false, text: slackClickReply({ kind: 'recorded', decision, by }) });
      } catch (error) {
        deps.logger?.error({ err: error, approvalId: action.value }, 'slack approval decision failed');
        return c.json({ error: 'decision could not be recorded, try again' }, 503);
      }
    },
  );
  return app;
}

/** A Release <region> or Cancel held click, carried out as the API's release and cancel-held are. */
async function fleetClick(
  held: NonNullable<SlackInteractionsDeps['held']>,
  action: { action_id: string; value: string },
  by: string,
  logger: Logger | undefined,
): Promise<{ replace_original: false; text: string }> {
  const reply = (text: string) => ({ replace_original: false as const, text: escapeMrkdwn(text) });
  let result: Awaited<ReturnType<typeof held.cancel>> | Awaited<ReturnType<typeof held.release>>;
  if (action.action_id === 'fleet_cancel') result = await held.cancel(action.value, by, undefined);
  else {
    const value = releaseValueSchema.safeParse(safeJson(action.value));
    if (!value.success) return reply(slackClickReply({ kind: 'nothing_to_do' }));
    result = await held.release(value.data.fleetId, value.data.region, by);
  }
  logger?.info({ action: action.action_id, by, ok: result.ok }, 'slack fleet action');
  return reply(
    slackClickReply(
      result.ok ? { kind: 'fleet', said: result.said } : { kind: 'refused', reason: result.error },
    ),
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parsePayload(
  rawBody: string,
): { success: true; data: z.infer<typeof blockActionsSchema> } | { success: false; error: unknown } {
  const raw = new URLSearchParams(rawBody).get('payload');
  if (raw === null) return { success: false, error: 'missing payload form field' };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { success: false, error: 'payload is not JSON' };
  }
  const parsed = blockActionsSchema.safeParse(json);
  return parsed.success ? parsed : { success: false, error: parsed.error.issues };
}
