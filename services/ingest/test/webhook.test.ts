import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IncidentStore } from '../../../shared/incidents.js';
import { createQueue, QUEUE } from '../../../shared/queues.js';
import type { NotificationJob } from '../../../shared/schemas/jobs.js';
import { webhookBody } from '../../../test/support/incidents.js';
import { openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import type { IngestHandle } from '../service.js';
import { keysUnder, post, startTestIngest, triageJobs } from './harness.js';

const firing = JSON.parse(readFileSync('test/fixtures/alertmanager-0.25-webhook-firing.json', 'utf8'));
const resolved = JSON.parse(readFileSync('test/fixtures/alertmanager-0.25-webhook-resolved.json', 'utf8'));

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

describe('POST /webhooks/alertmanager', () => {
  it('turns a real Alertmanager 0.25 payload into an incident and one prioritised triage job', async () => {
    const res = await post(ingest.url, firing);
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(body.incidents).toHaveLength(1);
    const incident = await store.get(body.incidents[0]);
    expect(incident).toMatchObject({
      level: 2,
      status: 'open',
      alertname: 'AlwaysFiring',
      severity: 'critical',
      service: 'checkout',
      alertCount: 1,
      firingCount: 1,
      fingerprints: ['25ce8c73955353e9'],
    });
    expect(incident?.timeline[0]).toMatchObject({ type: 'alert', fingerprint: '25ce8c73955353e9' });
    const jobs = await triageJobs(t);
    expect(jobs.map((j) => j.id)).toEqual([`triage-${body.incidents[0]}`]);
    expect(jobs[0]?.opts.priority).toBe(3); // level 2, critical
  });

  it('counts the same alert re-sent (repeat_interval, HA peer) as a duplicate and creates no work', async () => {
    const first = await (await post(ingest.url, firing)).json();
    const again = await post(ingest.url, firing);
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ accepted: 0, duplicates: 1, incidents: first.incidents });
    expect(await triageJobs(t)).toHaveLength(1);
    expect((await store.get(first.incidents[0]))?.alertCount).toBe(1);
  });

  it('opens exactly one incident for 100 concurrent identical posts across two ingest replicas', async () => {
    const replica = await startTestIngest(t);
    try {
      const responses = await Promise.all(
        Array.from({ length: 100 }, (_, i) => post(i % 2 ? replica.url : ingest.url, firing)),
      );
      const bodies = await Promise.all(responses.map((r) => r.json()));
      expect(responses.every((r) => r.status === 202)).toBe(true);
      expect(bodies.reduce((n, b) => n + b.accepted, 0)).toBe(1);
      expect(bodies.reduce((n, b) => n + b.duplicates, 0)).toBe(99);
      expect(new Set(bodies.flatMap((b) => b.incidents)).size).toBe(1);
      expect((await store.list({ limit: 10 })).incidents).toHaveLength(1);
      expect(await triageJobs(t)).toHaveLength(1);
    } finally {
      await replica.close();
    }
  });

  it('groups alerts that share the correlation key into one incident', async () => {
    const body = webhookBody([
      { alertname: 'ServiceDown', service: 'api', instance: 'a', fingerprint: 'f1' },
      { alertname: 'ServiceDown', service: 'api', instance: 'a', fingerprint: 'f2' },
      { alertname: 'ServiceDown', service: 'api', instance: 'b', fingerprint: 'f3' },
    ]);
    const result = await (await post(ingest.url, body)).json();
    expect(result.accepted).toBe(3);
    expect(result.incidents).toHaveLength(2);
    const first = await store.get(result.incidents[0]);
    expect(first).toMatchObject({ alertCount: 2, level: 1, instance: 'a' });
    expect(first?.fingerprints.sort()).toEqual(['f1', 'f2']);
  });

  it('resolves the incident when its alerts resolve and cancels the still-queued triage', async () => {
    const opened = await (await post(ingest.url, firing)).json();
    const id = opened.incidents[0];
    // The captured resolved payload has a later startsAt (a new firing episode of the same series).
    const res = await (await post(ingest.url, resolved)).json();
    expect(res).toEqual({ accepted: 1, duplicates: 0, incidents: [id] });
    const incident = await store.get(id);
    expect(incident).toMatchObject({ status: 'resolved', firingCount: 0, alertCount: 2 });
    expect(incident?.timeline.some((e) => e.type === 'status' && e.status === 'resolved')).toBe(true);
    expect(await triageJobs(t)).toHaveLength(0);
    expect((await store.list({ status: 'resolved', limit: 10 })).incidents.map((i) => i.id)).toEqual([id]);
    expect((await store.list({ status: 'open', limit: 10 })).incidents).toHaveLength(0);
  });

  it('resolves an alert re-sent with the same startsAt as an update, not a new alert', async () => {
    const alert = {
      alertname: 'QueueBacklog',
      service: 'orders',
      fingerprint: 'q1',
      startsAt: '2026-11-23T10:00:00Z',
    };
    const opened = await (await post(ingest.url, webhookBody([alert]))).json();
    const closed = await (
      await post(ingest.url, webhookBody([{ ...alert, status: 'resolved' }], 'resolved'))
    ).json();
    expect(closed).toMatchObject({ accepted: 1, duplicates: 0 });
    const incident = await store.get(opened.incidents[0]);
    expect(incident).toMatchObject({ status: 'resolved', alertCount: 1 });
    expect(incident?.timeline.filter((e) => e.type === 'alert').map((e) => e.status)).toEqual([
      'firing',
      'resolved',
    ]);
    const replay = await (
      await post(ingest.url, webhookBody([{ ...alert, status: 'resolved' }], 'resolved'))
    ).json();
    expect(replay).toMatchObject({ accepted: 0, duplicates: 1 });
    // The same alert firing again after resolution starts a new incident.
    const reopened = await (
      await post(ingest.url, webhookBody([{ ...alert, startsAt: '2026-11-23T11:00:00Z' }]))
    ).json();
    expect(reopened.incidents[0]).not.toBe(opened.incidents[0]);
  });

  it('classifies by alertname, honours the automation_level label, and announces level 3 as critical', async () => {
    const body = webhookBody([
      { alertname: 'DiskSpaceLow', instance: 'a', fingerprint: 'd1' },
      { alertname: 'DatabaseFailover', instance: 'b', fingerprint: 'd2', severity: 'critical' },
      { alertname: 'DiskSpaceLow', instance: 'c', fingerprint: 'd3', level: 3 },
      { alertname: 'SomethingNew', instance: 'd', fingerprint: 'd4', severity: 'info' },
    ]);
    const { incidents } = await (await post(ingest.url, body)).json();
    const levels = await Promise.all(incidents.map((id: string) => store.getLevel(id)));
    expect(levels).toEqual([1, 3, 3, 2]);
    const jobs = await triageJobs(t);
    const priority = new Map(jobs.map((j) => [j.data.incidentId, j.opts.priority ?? 0]));
    expect(priority.get(incidents[1])).toBe(1);
    expect(priority.get(incidents[0])).toBeLessThan(priority.get(incidents[3]) ?? 0);
    const queue = createQueue<NotificationJob>(QUEUE.notifications.ingest, t.redis, t.keys.bullPrefix);
    const announced = await queue.getJobs(['waiting']);
    await queue.close();
    const severityOf = new Map(announced.map((job) => [job.data.incidentId, job.data.severity]));
    expect(announced.every((job) => job.data.event === 'incident_opened')).toBe(true);
    expect(incidents.map((id: string) => severityOf.get(id))).toEqual([
      'warning',
      'critical',
      'critical',
      'info',
    ]);
  });
});

describe('recent-alert cache', () => {
  it('asks Redis again about remembered alerts once the connection dropped (a failover may have lost them)', async () => {
    const body = webhookBody([{ alertname: 'ServiceDown', instance: 'fo-1', fingerprint: 'failover1' }]);
    const first = (await (await post(ingest.url, body)).json()) as { incidents: string[] };
    expect(first).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await (await post(ingest.url, body)).json()).toMatchObject({ accepted: 0, duplicates: 1 });

    // The promoted replica never got the alert, and the failover cut ingest's connection.
    const alerts = t.keys.incidentAlerts(first.incidents[0] as string);
    expect(await t.redis.hdel(alerts, 'failover1')).toBe(1);
    await t.redis.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');

    let reply: Response | undefined;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      reply = await post(ingest.url, body);
      if (reply.status !== 503) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(reply?.status).toBe(202);
    expect(await reply?.json()).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await t.redis.hexists(alerts, 'failover1')).toBe(1);
  });
});

describe('bad input', () => {
  const cases: [string, string | object, number][] = [
    ['missing alerts', { version: '4', status: 'firing' }, 400],
    ['empty alerts', { ...firing, alerts: [] }, 400],
    ['wrong types', { ...firing, alerts: [{ ...firing.alerts[0], labels: 'x', startsAt: 5 }] }, 400],
    [
      'an alert without alertname',
      { ...firing, alerts: [{ ...firing.alerts[0], labels: { severity: 'x' } }] },
      400,
    ],
    [
      'a fingerprint that could escape its key',
      { ...firing, alerts: [{ ...firing.alerts[0], fingerprint: 'a:b c' }] },
      400,
    ],
    ['non-JSON', 'alerts=1&status=firing', 400],
    ['truncated JSON', '{"alerts": [', 400],
  ];
  for (const [name, body, status] of cases) {
    it(`answers ${status} to ${name} and writes nothing`, async () => {
      const res = await post(ingest.url, body);
      expect(res.status).toBe(status);
      const json = await res.json();
      expect(typeof json.error).toBe('string');
      if (typeof body === 'object') expect(Array.isArray(json.details)).toBe(true);
      expect(await keysUnder(t)).toEqual([]);
    });
  }

  it('answers 413 to a 5 MB body and writes nothing', async () => {
    const huge = { ...firing, commonAnnotations: { padding: 'x'.repeat(5 * 1024 * 1024) } };
    const res = await post(ingest.url, huge);
    expect(res.status).toBe(413);
    expect((await res.json()).error).toMatch(/MAX_BODY_BYTES/);
    expect(await keysUnder(t)).toEqual([]);
  });

  it('answers 413 to an oversized body sent in chunks without Content-Length, and goes on serving', async () => {
    const body = JSON.stringify({ ...firing, commonAnnotations: { padding: 'x'.repeat(5 * 1024 * 1024) } });
    const chunks = Array.from({ length: 5 }, (_, i) =>
      body.slice((i * body.length) / 5, ((i + 1) * body.length) / 5),
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${ingest.url}/webhooks/alertmanager`, {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        for (const chunk of chunks) req.write(chunk);
        req.end();
      });
      expect(status).toBe(413);
      expect(await keysUnder(t)).toEqual([]);
      const next = await fetch(`${ingest.url}/webhooks/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(firing),
      });
      expect(next.status).toBe(202);
    } finally {
      agent.destroy();
    }
  });
});

describe('auth', () => {
  it('requires the bearer INGEST_TOKEN on the webhook and ADMIN_TOKEN on the API and Bull Board', async () => {
    const secured = await startTestIngest(t, { INGEST_TOKEN: 'in-secret', ADMIN_TOKEN: 'admin-secret' });
    try {
      expect((await post(secured.url, firing)).status).toBe(401);
      expect((await post(secured.url, firing, { authorization: 'Bearer wrong' })).status).toBe(401);
      expect((await post(secured.url, firing, { authorization: 'Bearer admin-secret' })).status).toBe(401);
      expect(await keysUnder(t)).toEqual([]);
      expect((await post(secured.url, firing, { authorization: 'Bearer in-secret' })).status).toBe(202);

      expect((await fetch(`${secured.url}/api/incidents`)).status).toBe(401);
      expect(
        (await fetch(`${secured.url}/api/incidents`, { headers: { authorization: 'Bearer in-secret' } }))
          .status,
      ).toBe(401);
      const list = await fetch(`${secured.url}/api/incidents`, {
        headers: { authorization: 'Bearer admin-secret' },
      });
      expect(list.status).toBe(200);
      expect((await list.json()).incidents).toHaveLength(1);
      const pause = await fetch(`${secured.url}/api/automation/pause`, {
        method: 'POST',
        body: '{"by":"eve"}',
      });
      expect(pause.status).toBe(401);

      expect((await fetch(`${secured.url}/admin/queues`)).status).toBe(401);
      const basic = `Basic ${Buffer.from('ops:admin-secret').toString('base64')}`;
      expect((await fetch(`${secured.url}/admin/queues`, { headers: { authorization: basic } })).status).toBe(
        200,
      );
    } finally {
      await secured.close();
    }
  });
});

describe('incidents API', () => {
  it('lists newest first with a cursor and filters by status', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const body = webhookBody([{ alertname: 'ServiceDown', instance: `host-${i}`, fingerprint: `p${i}` }]);
      ids.push((await (await post(ingest.url, body)).json()).incidents[0]);
      await new Promise((r) => setTimeout(r, 2));
    }
    const page1 = await (await fetch(`${ingest.url}/api/incidents?limit=2`)).json();
    expect(page1.incidents.map((i: { id: string }) => i.id)).toEqual([ids[4], ids[3]]);
    const page2 = await (
      await fetch(`${ingest.url}/api/incidents?limit=2&cursor=${page1.nextCursor}`)
    ).json();
    expect(page2.incidents.map((i: { id: string }) => i.id)).toEqual([ids[2], ids[1]]);
    const page3 = await (
      await fetch(`${ingest.url}/api/incidents?limit=2&cursor=${page2.nextCursor}`)
    ).json();
    expect(page3).toMatchObject({ nextCursor: null });
    expect(page3.incidents.map((i: { id: string }) => i.id)).toEqual([ids[0]]);
    expect((await fetch(`${ingest.url}/api/incidents?status=bogus`)).status).toBe(400);
    expect((await fetch(`${ingest.url}/api/incidents?limit=501`)).status).toBe(400);
    expect((await fetch(`${ingest.url}/api/incidents/nope`)).status).toBe(404);
  });

  it('pages through every incident of one batch: a thousand opened in one millisecond are all listed once', async () => {
    const alerts = Array.from({ length: 1_200 }, (_, i) => ({
      alertname: 'ServiceDown',
      instance: `batch-host-${i}`,
      fingerprint: `b${i}`,
    }));
    // The storm guard would fold most of them into one storm incident: out of the way here.
    const roomy = await startTestIngest(t, { STORM_THRESHOLD: '100000' });
    const opened: string[] = (await (await post(roomy.url, webhookBody(alerts))).json()).incidents;
    await roomy.close();
    expect(new Set(opened).size).toBe(1_200);
    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : '';
      const page = await (await fetch(`${ingest.url}/api/incidents?limit=500${query}`)).json();
      listed.push(...page.incidents.map((i: { id: string }) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(listed.filter((id) => opened.includes(id)).sort()).toEqual([...opened].sort());
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('serves health, readiness and contract metrics', async () => {
    await post(ingest.url, firing);
    await post(ingest.url, firing);
    await post(ingest.url, '{');
    expect((await fetch(`${ingest.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${ingest.url}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${ingest.url}/metrics`)).text();
    expect(text).toMatch(/hermes_alerts_received_total\{result="accepted",service="ingest"\} 1/);
    expect(text).toMatch(/hermes_alerts_received_total\{result="duplicate",service="ingest"\} 1/);
    expect(text).toMatch(/hermes_alerts_received_total\{result="rejected",service="ingest"\} 1/);
    expect(text).toMatch(/hermes_queue_depth\{queue="triage",service="ingest"\} 1/);
    expect(text).toMatch(
      /hermes_http_request_duration_seconds_count\{service="ingest",method="POST",route="\/webhooks\/alertmanager",status="202"\} 2/,
    );
    expect(text).toMatch(
      /hermes_http_request_duration_seconds_count\{service="ingest",method="POST",route="\/webhooks\/alertmanager",status="400"\} 1/,
    );
    expect(text).toMatch(
      /hermes_http_request_duration_seconds_count\{service="ingest",method="GET",route="\/healthz"/,
    );
    // The re-send was answered from memory: one intake script in all.
    expect(text).toMatch(/hermes_ingest_intake_script_duration_seconds_count\{service="ingest"\} 1\n/);
  });
});

describe('poison values are data, not a reason to lose the batch', () => {
  it('stores every alert of a batch holding prototype names and lone surrogates', async () => {
    const body = webhookBody([
      { alertname: 'ServiceDown', service: 'checkout', instance: 'app-1' },
      { alertname: 'constructor', severity: '__proto__', instance: 'app-2', labels: { toString: 'valueOf' } },
      {
        alertname: 'toString',
        severity: 'constructor',
        instance: 'app-3\ud800',
        annotations: { description: 'half a pair: \udc00 and a whole one: \ud83d\ude00' },
      },
    ]);
    // The label named __proto__ is an own property, as Alertmanager's JSON would carry it.
    const raw = JSON.stringify(body).replace('"toString":"valueOf"', '"toString":"valueOf","__proto__":"x"');
    const res = await fetch(`${ingest.url}/webhooks/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: raw,
    });
    expect(res.status).toBe(202);
    const reply = (await res.json()) as { accepted: number; incidents: string[] };
    expect(reply.accepted).toBe(3);
    expect(reply.incidents).toHaveLength(3);
    const incidents = await Promise.all(reply.incidents.map((id) => store.get(id)));
    expect(incidents.map((i) => i?.alertname).sort()).toEqual(['ServiceDown', 'constructor', 'toString']);
    const surrogate = incidents.find((i) => i?.alertname === 'toString');
    expect(surrogate?.instance).toBe('app-3\ufffd');
    expect(surrogate?.annotations.description).toBe('half a pair: \ufffd and a whole one: \ud83d\ude00');
    const prototype = incidents.find((i) => i?.alertname === 'constructor');
    expect(prototype).toMatchObject({ severity: '__proto__', level: 2 });
    expect(Object.hasOwn(prototype?.labels ?? {}, '__proto__')).toBe(true);
  });
});
