import { type Job, Worker } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IncidentStore } from '../../../shared/incidents.js';
import { createQueue, QUEUE } from '../../../shared/queues.js';
import type { NotificationJob } from '../../../shared/schemas/jobs.js';
import { signSlackRequest } from '../../../shared/slack-signature.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { type TestAlert, webhookBody } from '../../../test/support/incidents.js';
import { openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import { writeUsersFile } from '../../../test/support/users.js';
import { slackMessage } from '../../notifier/channels/slack-message.js';
import { fleetClosedJobId } from '../fleet/fleets.js';
import type { IngestHandle } from '../service.js';
import { post as postWebhook, startTestIngest } from './harness.js';

const USERS = writeUsersFile([
  { name: 'alice', role: 'approver', token: 'alice-token' },
  { name: 'oscar', role: 'operator', token: 'oscar-token' },
  { name: 'vera', role: 'viewer', token: 'vera-token' },
]);

function down(host: string, region: string): TestAlert {
  return {
    alertname: 'ServiceDown',
    instance: `${host}:9100`,
    service: 'api-gateway',
    fingerprint: `fp-${host}`,
    labels: { region },
  };
}

async function openFleetOn(
  t: TestRedis,
  ingest: IngestHandle,
): Promise<{ fleetId: string; members: string[] }> {
  const reply = await postWebhook(ingest.url, webhookBody([down('h1', 'us-east'), down('h2', 'eu-west')]));
  const { incidents } = (await reply.json()) as { incidents: string[] };
  const fleetId = await t.redis.hget(t.keys.fleetOpen('api-gateway'), 'ServiceDown');
  if (!fleetId) throw new Error('no fleet incident opened');
  return { fleetId, members: incidents };
}

function call(ingest: IngestHandle, path: string, body: unknown, token?: string) {
  return fetch(`${ingest.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

const SLACK_SECRET = 'fleet-slack-secret';

/** A signed Slack click on a button of a message, as Slack posts it to /slack/interactions. */
function slackClick(
  ingest: IngestHandle,
  button: { action_id: string; value: string },
  secret = SLACK_SECRET,
) {
  const payload = { type: 'block_actions', user: { id: 'U1', username: 'jane' }, actions: [button] };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(Math.floor(Date.now() / 1000));
  return fetch(`${ingest.url}/slack/interactions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': signSlackRequest(secret, timestamp, body),
    },
    body,
  });
}

describe('release and cancel-held', () => {
  let t: TestRedis;
  let ingest: IngestHandle;
  let executor: Worker | undefined;
  let asked: Job[];

  beforeEach(async () => {
    t = await openTestRedis();
    ingest = await startTestIngest(t, {
      USERS_FILE: USERS,
      ADMIN_TOKEN: 'break-glass',
      SLACK_SIGNING_SECRET: SLACK_SECRET,
    });
    asked = [];
  });
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
    await ingest.close();
    await t.close();
  });

  /** Stands in for the executor (its half is on another branch): answers fleet jobs as it would. */
  function standInExecutor() {
    executor = new Worker(
      QUEUE.actions,
      async (job) => {
        asked.push(job);
        if (job.name === 'fleet_release') return { released: 3 };
        if (job.name === 'fleet_cancel') return { cancelled: 5 };
        throw new Error(`unexpected job ${job.name}`);
      },
      { connection: t.redis.duplicate(), prefix: t.keys.bullPrefix },
    );
  }

  it('asks the executor to release one region and records who did it', async () => {
    standInExecutor();
    const { fleetId } = await openFleetOn(t, ingest);
    const reply = await call(
      ingest,
      `/api/incidents/${fleetId.slice(0, -1)}/release`,
      { region: 'eu-west' },
      'alice-token',
    );
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual({ released: 3, by: 'alice' });
    expect(asked.map((job) => [job.name, job.data])).toEqual([
      ['fleet_release', { fleetId, region: 'eu-west', by: 'alice' }],
    ]);
    const timeline = await new IncidentStore(t.redis, t.keys).timeline(fleetId);
    expect(timeline.at(-1)).toMatchObject({
      by: 'alice',
      message: 'released the changes held in eu-west: 3 (by alice)',
    });
  });

  it('asks the executor to cancel every held change, with the reason', async () => {
    standInExecutor();
    const { fleetId } = await openFleetOn(t, ingest);
    const reply = await call(
      ingest,
      `/api/incidents/${fleetId}/cancel-held`,
      { by: 'ann', reason: 'bad deploy' },
      'break-glass',
    );
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual({ cancelled: 5, by: 'ann+break-glass' });
    expect(asked.map((job) => [job.name, job.data])).toEqual([
      ['fleet_cancel', { fleetId, by: 'ann+break-glass', reason: 'bad deploy' }],
    ]);
  });

  it('refuses by role, by a `by` that is not the caller, bad bodies, unknown ids, non-fleet incidents and unknown regions', async () => {
    standInExecutor();
    const { fleetId, members } = await openFleetOn(t, ingest);
    const release = (id: string, body: unknown, token?: string) =>
      call(ingest, `/api/incidents/${id}/release`, body, token);
    expect((await release(fleetId, { region: 'eu-west' })).status).toBe(401);
    expect((await release(fleetId, { region: 'eu-west' }, 'vera-token')).status).toBe(403);
    expect((await release(fleetId, { region: 'eu-west' }, 'oscar-token')).status).toBe(403);
    expect((await call(ingest, `/api/incidents/${fleetId}/cancel-held`, {}, 'oscar-token')).status).toBe(403);
    expect((await release(fleetId, { region: 'eu-west', by: 'bob' }, 'alice-token')).status).toBe(403);
    expect((await release(fleetId, {}, 'alice-token')).status).toBe(400);
    expect((await release('inc_nothing', { region: 'eu-west' }, 'alice-token')).status).toBe(404);
    const member = await release(members[0] as string, { region: 'eu-west' }, 'alice-token');
    expect(member.status).toBe(409);
    expect((await member.json()).error).toMatch(/is not a fleet incident/);
    const elsewhere = await release(fleetId, { region: '<ap-south>' }, 'alice-token');
    expect(elsewhere.status).toBe(400);
    expect((await elsewhere.json()).error).toBe(
      `fleet incident ${fleetId} fires in eu-west, us-east, not in <ap-south>`,
    );
    expect(asked).toEqual([]);
  });

  it("carries out the fleet page's Slack buttons, signed, as the Slack user", async () => {
    standInExecutor();
    const { fleetId } = await openFleetOn(t, ingest);
    const notices = createQueue<NotificationJob>(QUEUE.notifications.ingest, t.redis, t.keys.bullPrefix);
    const page = (await notices.getJob(`fleet-opened-${fleetId}`))?.data;
    await notices.close();
    if (!page) throw new Error('no fleet page queued');
    const message = slackMessage({ notification: { severity: 'critical', ...page }, incident: null });
    const buttons = message.blocks.find((block) => block.block_id === 'fleet')?.elements as {
      action_id: string;
      value: string;
      text: { text: string };
    }[];
    expect(buttons.map((button) => button.text.text)).toEqual([
      'Release eu-west',
      'Release us-east',
      'Cancel held',
    ]);
    const [, releaseUsEast, cancel] = buttons;
    const forged = await slackClick(
      ingest,
      releaseUsEast as { action_id: string; value: string },
      'not-the-secret',
    );
    expect(forged.status).toBe(401);
    expect(asked).toEqual([]);
    const released = await slackClick(ingest, releaseUsEast as { action_id: string; value: string });
    expect(released.status).toBe(200);
    expect((await released.json()).text).toBe(
      'Done: released the changes held in us-east: 3 (by slack-jane).',
    );
    const cancelled = await slackClick(ingest, cancel as { action_id: string; value: string });
    expect((await cancelled.json()).text).toBe('Done: cancelled the changes held: 5 (by slack-jane).');
    expect(asked.map((job) => [job.name, job.data])).toEqual([
      ['fleet_release', { fleetId, region: 'us-east', by: 'slack-jane' }],
      ['fleet_cancel', { fleetId, by: 'slack-jane' }],
    ]);
    const elsewhere = await slackClick(ingest, {
      action_id: 'fleet_release_0',
      value: JSON.stringify({ fleetId, region: '<!channel>' }),
    });
    expect((await elsewhere.json()).text).toBe(
      `Could not record that: fleet incident ${fleetId} fires in eu-west, us-east, not in &lt;!channel&gt;.`,
    );
  });

  it('answers 504 when no executor answers, leaving the request queued', async () => {
    const { fleetId } = await openFleetOn(t, ingest);
    const reply = await call(ingest, `/api/incidents/${fleetId}/cancel-held`, {}, 'alice-token');
    expect(reply.status).toBe(504);
    expect((await reply.json()).error).toMatch(/did not answer in time; nothing is lost/);
    const actions = createQueue(QUEUE.actions, t.redis, t.keys.bullPrefix);
    try {
      const waiting = await actions.getJobs(['waiting']);
      expect(waiting.map((job) => [job.name, job.data])).toEqual([
        ['fleet_cancel', { fleetId, by: 'alice' }],
      ]);
    } finally {
      await actions.close();
    }
  }, 15_000);
});

describe('a human resolving a fleet incident', () => {
  let h: ExecutorHarness;
  let ingest: IngestHandle;
  beforeEach(async () => {
    h = await startExecutorHarness();
    ingest = await startTestIngest(h.t, { USERS_FILE: USERS });
  });
  afterEach(async () => {
    await ingest.close();
    await h.close();
  });

  it('closes it: the fleet says closed by whom, the resource has no open fleet, the executor is told; release is then 409', async () => {
    const { fleetId } = await openFleetOn(h.t, ingest);
    const reply = await call(ingest, `/api/incidents/${fleetId}/resolve`, {}, 'alice-token');
    expect(reply.status).toBe(200);
    const fleet = await h.incidents.get(fleetId);
    expect(fleet).toMatchObject({ status: 'resolved', fleet: { status: 'closed', closedBy: 'alice' } });
    expect(await h.t.redis.hget(h.t.keys.fleetOpen('api-gateway'), 'ServiceDown')).toBeNull();
    const job = await h.actions.getJob(fleetClosedJobId(fleetId));
    expect(job?.name).toBe('fleet_closed');
    const again = await call(
      ingest,
      `/api/incidents/${fleetId}/release`,
      { region: 'eu-west' },
      'alice-token',
    );
    expect(again.status).toBe(409);
  });
});
