import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { IncidentStore } from '../../../shared/incidents.js';
import { scriptKeyLayout } from '../../../shared/keys.js';
import { createQueue, QUEUE } from '../../../shared/queues.js';
import type { NotificationJob } from '../../../shared/schemas/jobs.js';
import { type TestAlert, webhookBody } from '../../../test/support/incidents.js';
import { openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import { LOCAL_TARGETS } from '../../../test/support/targets.js';
import { fleetClosedJobId } from '../fleet/fleets.js';
import type { IngestHandle } from '../service.js';
import { post, startTestIngest } from './harness.js';

// The shipped TARGETS_FILE places `service` on the host of `instance`, in the `region` label's region.
let t: TestRedis;
let ingest: IngestHandle;
let store: IncidentStore;

beforeEach(async () => {
  t = await openTestRedis();
  ingest = await startTestIngest(t);
  store = new IncidentStore(t.redis, t.keys);
});
afterEach(async () => {
  await ingest.close();
  await t.close();
});

function down(host: string, region: string, extra: Partial<TestAlert> = {}): TestAlert {
  return {
    alertname: 'ServiceDown',
    severity: 'critical',
    instance: `${host}:9100`,
    service: 'api-gateway',
    fingerprint: `fp-${host}`,
    labels: { region },
    ...extra,
  };
}

const NINE = ['us-east', 'eu-west', 'ap-south'].flatMap((region, r) =>
  [1, 2, 3].map((n) => down(`api-server-${r}${n}`, region)),
);

async function send(alerts: TestAlert[], status: 'firing' | 'resolved' = 'firing') {
  const reply = await post(ingest.url, webhookBody(alerts, status));
  expect(reply.status).toBe(202);
  return (await reply.json()) as { incidents: string[] };
}

async function openFleet(resource = 'api-gateway'): Promise<string | null> {
  return t.redis.hget(t.keys.fleetOpen(resource), 'ServiceDown');
}

async function pages(): Promise<NotificationJob[]> {
  const queue = createQueue<NotificationJob>(QUEUE.notifications.ingest, t.redis, t.keys.bullPrefix);
  try {
    const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed']);
    return jobs.map((job) => job.data).filter((job) => job.event === 'fleet_opened');
  } finally {
    await queue.close();
  }
}

async function allIncidents() {
  return (await store.list({ limit: 500 })).incidents;
}

it('opens one level-3 fleet incident for 9 alerts in 3 regions in one batch, linked both ways, paged once', async () => {
  const { incidents } = await send(NINE);
  expect(incidents).toHaveLength(9);
  const fleetId = await openFleet();
  expect(fleetId).toBeTruthy();
  const fleet = await store.get(fleetId as string);
  expect(fleet).toMatchObject({
    level: 3,
    status: 'escalated',
    alertname: 'ServiceDown',
    severity: 'critical',
    service: 'api-gateway',
    alertCount: 0,
    fingerprints: [],
    summary: 'api-gateway: ServiceDown in 3 regions (ap-south, eu-west, us-east), 9 targets',
    fleet: { status: 'open', regions: ['ap-south', 'eu-west', 'us-east'], alertname: 'ServiceDown' },
  });
  expect(fleet?.fleet?.places).toHaveLength(9);
  expect(fleet?.fleet?.places).toContainEqual({ target: 'fleet', host: 'api-server-01', region: 'us-east' });
  expect(fleet?.fleet?.members.sort()).toEqual([...incidents].sort());
  for (const id of incidents) expect((await store.getSummary(id))?.fleetIncident).toBe(fleetId);
  const every = await allIncidents();
  expect(every).toHaveLength(10);
  expect(every.reduce((sum, incident) => sum + incident.alertCount, 0)).toBe(9);
  expect(await t.redis.zscore(t.keys.incidentStatusIndex('escalated'), fleetId as string)).not.toBeNull();
  const paged = await pages();
  expect(paged).toHaveLength(1);
  expect(paged[0]).toMatchObject({ incidentId: fleetId, severity: 'critical' });
  expect(paged[0]?.text).toContain(
    'ServiceDown fires for api-gateway in ap-south, eu-west, us-east on 9 targets',
  );
  expect(paged[0]?.text).toContain('held until a human releases a region or cancels');
  // The re-send of the same batch changes nothing and pages nobody again.
  await send(NINE);
  expect(await allIncidents()).toHaveLength(10);
  expect(await pages()).toHaveLength(1);
  expect((await store.get(fleetId as string))?.fleet?.members).toHaveLength(9);
});

it('opens the fleet on the second region, with both members; later alerts join it; another resource is untouched', async () => {
  const [first] = (await send([down('h1', 'us-east')])).incidents;
  expect(await openFleet()).toBeNull();
  expect((await store.getSummary(first as string))?.fleetIncident).toBeUndefined();
  const [second] = (await send([down('h2', 'eu-west')])).incidents;
  const fleetId = (await openFleet()) as string;
  expect(fleetId).toBeTruthy();
  expect((await store.get(fleetId))?.fleet?.members.sort()).toEqual([first, second].sort());
  const [third] = (await send([down('h3', 'eu-west')])).incidents;
  expect((await store.getSummary(third as string))?.fleetIncident).toBe(fleetId);
  const fleet = await store.get(fleetId);
  expect(fleet?.fleet?.members).toContain(third);
  expect(fleet?.timeline.map((entry) => entry.message)).toContain('joined: api-gateway on h3 (eu-west)');
  const [other] = (await send([down('h9', 'ap-south', { service: 'billing', fingerprint: 'fp-b' })]))
    .incidents;
  expect((await store.getSummary(other as string))?.fleetIncident).toBeUndefined();
  expect(await openFleet('billing')).toBeNull();
  expect(await pages()).toHaveLength(1);
  expect(await allIncidents()).toHaveLength(5);
});

it('makes exactly one fleet incident when two replicas take batches crossing the threshold at once', async () => {
  const other = await startTestIngest(t);
  try {
    const [a, b] = await Promise.all([
      post(ingest.url, webhookBody([down('h1', 'us-east'), down('h2', 'us-east')])),
      post(other.url, webhookBody([down('h3', 'eu-west'), down('h4', 'eu-west')])),
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
  } finally {
    await other.close();
  }
  const fleets = (await allIncidents()).filter((incident) => incident.alertCount === 0);
  expect(fleets).toHaveLength(1);
  expect((await store.get(fleets[0]?.id as string))?.fleet?.members).toHaveLength(4);
  expect(await pages()).toHaveLength(1);
});

it('closes the fleet when intake resolves its last firing member, and tells the executor', async () => {
  const both = [down('h1', 'us-east'), down('h2', 'eu-west')];
  await send(both);
  const fleetId = (await openFleet()) as string;
  await send([{ ...both[0], status: 'resolved' } as TestAlert], 'resolved');
  expect((await store.get(fleetId))?.fleet?.status).toBe('open');
  await send([{ ...both[1], status: 'resolved' } as TestAlert], 'resolved');
  const fleet = await store.get(fleetId);
  expect(fleet).toMatchObject({ status: 'resolved', fleet: { status: 'closed', closedBy: 'ingest' } });
  expect(await openFleet()).toBeNull();
  const actions = createQueue(QUEUE.actions, t.redis, t.keys.bullPrefix);
  try {
    const job = await actions.getJob(fleetClosedJobId(fleetId));
    expect(job?.name).toBe('fleet_closed');
    expect(job?.data).toEqual({ fleetId });
  } finally {
    await actions.close();
  }
});

it("names the resource's open fleets under the key shared/keys.ts gives it, escaped characters too", async () => {
  // `@` and `:` are escaped by encodeURIComponent; the script encodes alike.
  const resource = 'api@gw:v2_x-y.service';
  const alerts = [down('h1', 'us-east', { service: resource }), down('h2', 'eu-west', { service: resource })];
  await send(alerts);
  const fleetId = await t.redis.hget(t.keys.fleetOpen(resource), 'ServiceDown');
  expect(fleetId).toBeTruthy();
  await send(
    alerts.map((alert) => ({ ...alert, status: 'resolved' as const })),
    'resolved',
  );
  expect(await t.redis.hget(t.keys.fleetOpen(resource), 'ServiceDown')).toBeNull();
  expect((await store.get(fleetId as string))?.fleet?.status).toBe('closed');
});

it('encodes a resource in Lua exactly as encodeURIComponent does', async () => {
  const include = readFileSync(new URL('../lua/includes/fleet-keys.lua', import.meta.url), 'utf8');
  const layout = JSON.stringify(scriptKeyLayout(t.keys));
  for (const resource of ['api-gateway', "pay ments/ü€(v2)!*'~._-%", 'a@b:c+d=e&f?g#h', '日本\t\n"\\', '']) {
    const key = await t.redis.eval(
      `${include}\nreturn fleet_open_key(cjson.decode(ARGV[1]), ARGV[2])`,
      0,
      layout,
      resource,
    );
    expect(key).toBe(t.keys.fleetOpen(resource));
  }
});

it('closes a fleet a human resolved if ingest died before closing it, at the next batch of its cause', async () => {
  await send([down('h1', 'us-east'), down('h2', 'eu-west')]);
  const fleetId = (await openFleet()) as string;
  // What the executor does for a human's resolve; the ingest that asked it died before closing the fleet.
  await store.setStatus(fleetId, 'resolved', 'human:alice');
  await send([down('h3', 'us-east')]);
  expect((await store.get(fleetId))?.fleet).toMatchObject({ status: 'closed', closedBy: 'ingest' });
  const actions = createQueue(QUEUE.actions, t.redis, t.keys.bullPrefix);
  try {
    expect((await actions.getJob(fleetClosedJobId(fleetId)))?.data).toEqual({ fleetId });
  } finally {
    await actions.close();
  }
});

it("a human's resolve of a fleet holds while Alertmanager re-sends its alerts; a new episode opens a new fleet", async () => {
  const startsAt = new Date(Date.now() - 60_000).toISOString();
  const firing = NINE.map((alert) => ({ ...alert, startsAt }));
  await send(firing);
  const fleetId = (await openFleet()) as string;
  // What the executor does for a human's resolve; the next batch closes the fleet if ingest did not.
  await store.setStatus(fleetId, 'resolved', 'human:alice');

  // Re-sent every group_interval while they fire: the same alerts, on the same incidents.
  await send(firing);
  await send(firing);
  expect((await store.get(fleetId))?.fleet?.status).toBe('closed');
  expect(await openFleet()).toBeNull();
  expect(await pages()).toHaveLength(1);
  expect((await allIncidents()).filter((incident) => incident.level === 3)).toHaveLength(1);

  // They resolve, then fire again later: a new outage, new incidents, a new fleet and a new page.
  await send(
    firing.map((alert) => ({ ...alert, status: 'resolved' as const })),
    'resolved',
  );
  await send(NINE.map((alert) => ({ ...alert, startsAt: new Date().toISOString() })));
  const second = await openFleet();
  expect(second).toBeTruthy();
  expect(second).not.toBe(fleetId);
  expect(await pages()).toHaveLength(2);
});

it("names the first 50 members that join on the fleet's timeline, then says the rest are in its members", async () => {
  // No storm: 62 incidents open at once here.
  const roomy = await startTestIngest(t, { STORM_THRESHOLD: '1000' });
  try {
    await post(roomy.url, webhookBody([down('h0', 'us-east'), down('h1', 'eu-west')]));
    await post(roomy.url, webhookBody(Array.from({ length: 60 }, (_, i) => down(`host-${i}`, 'ap-south'))));
  } finally {
    await roomy.close();
  }
  const fleetId = (await openFleet()) as string;
  const fleet = await store.get(fleetId);
  expect(fleet?.fleet?.members).toHaveLength(62);
  const joined = fleet?.timeline.filter((entry) => entry.type === 'summary').map((entry) => entry.message);
  expect(joined?.filter((message) => message?.startsWith('joined: '))).toHaveLength(50);
  expect(joined?.at(-1)).toBe('More than 50 incidents joined: the rest are listed in its members.');
});

it("the README's bad deploy (test/fixtures/bad-deploy-webhook.json) opens one fleet incident on the shipped files", async () => {
  const body = readFileSync('test/fixtures/bad-deploy-webhook.json', 'utf8');
  const response = await fetch(`${ingest.url}/webhooks/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  expect(response.status).toBe(202);
  const fleetId = (await t.redis.hget(t.keys.fleetOpen('api-gateway'), 'ServiceDown')) as string;
  const fleet = await store.get(fleetId);
  expect(fleet).toMatchObject({ level: 3, status: 'escalated' });
  expect(fleet?.fleet?.regions).toEqual(['ap-south', 'eu-west', 'us-east']);
  expect(fleet?.fleet?.members).toHaveLength(9);
});

it('alerts whose names are not well-formed text are stored and left out of fleets, not refused', async () => {
  // A local target places any alert (an SSH target refuses such a host name before the fleet rules).
  const local = await startTestIngest(t, { TARGETS_FILE: LOCAL_TARGETS });
  try {
    const hostile = ['us-east', 'eu-west', 'ap-south'].map((region, i) =>
      down(`h\ud800-${i}`, region === 'us-east' ? 'us\udc00-east' : region, {
        alertname: 'Down\ud800',
        service: 'constructor',
        fingerprint: `fp-hostile-${i}`,
      }),
    );
    const response = await post(local.url, webhookBody(hostile));
    expect(response.status, await response.clone().text()).toBe(202);
    expect((await response.json()).accepted).toBe(3);
    expect(await t.redis.hgetall(t.keys.fleetOpen('constructor'))).toEqual({});
    // Other batches are judged as usual.
    await post(ingest.url, webhookBody(NINE));
    expect(await t.redis.hget(t.keys.fleetOpen('api-gateway'), 'ServiceDown')).toBeTruthy();
  } finally {
    await local.close();
  }
});
