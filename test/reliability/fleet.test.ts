import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { executorEnvSchema } from '../../services/executor/env.js';
import { startExecutor } from '../../services/executor/service.js';
import { ingestEnvSchema } from '../../services/ingest/env.js';
import { type IngestHandle, startIngest } from '../../services/ingest/service.js';
import { triageEnvSchema } from '../../services/triage/env.js';
import { startTriage } from '../../services/triage/service.js';
import { parseEnv } from '../../shared/env.js';
import { IncidentStore } from '../../shared/incidents.js';
import { createLogger } from '../../shared/logger.js';
import type { Incident } from '../../shared/schemas/incident.js';
import { type TestAlert, toAlert } from '../support/incidents.js';
import { startPagedNotifier } from '../support/paging.js';
import { eventually, openTestRedis } from '../support/redis.js';
import { fleetTargets, startSshFleet } from '../support/ssh-hosts.js';
import { writeUsersFile } from '../support/users.js';
import { tempDir } from './processes.js';

/**
 * A bad deploy across a fleet, through the real ingest (HTTP), triage (runbook planner), executor
 * (live, the shipped policy and its budgets) and notifier, on one Redis, with fake PagerDuty and
 * Slack speaking their wire formats and a real SMTP server for email. The fleet is nine real sshd
 * hosts on 127.0.0.2–10, three per region (each target's `topology:`): local targets would all be
 * the executor's one machine, one place. What ran is read on the hosts themselves (their restart
 * records), not from Hermes' counters.
 */
const REGIONS = ['eu-west', 'us-east', 'ap-south'] as const;
let HOSTS: { region: string; host: string }[] = [];
const APPROVER = { name: 'alice', role: 'approver' as const, token: 'alice-token-0123456789abcdef' };

const down = ({ region, host }: { region: string; host: string }): TestAlert => ({
  alertname: 'ServiceDown',
  service: 'api-gateway',
  instance: `${host}:9100`,
  fingerprint: createHash('sha256').update(host).digest('hex').slice(0, 16),
  startsAt: '2026-12-07T09:00:00.000Z',
  labels: { region, zone: 'a' },
});

async function world(tag: string) {
  const t = await openTestRedis();
  const dir = tempDir(tag);
  const fleet = await startSshFleet({ hosts: 9, units: ['api-gateway'] });
  HOSTS = fleet.hosts.map((host, i) => ({
    region: REGIONS[Math.floor(i / 3)] as string,
    host: host.address,
  }));
  const targetsFile = join(dir, 'targets.yaml');
  writeFileSync(
    targetsFile,
    stringify({
      version: 1,
      targets: fleetTargets(fleet).map((target, i) => ({
        ...target,
        topology: { region: REGIONS[Math.floor(i / 3)], zone: 'a' },
      })),
    }),
  );
  const logger = createLogger('test', 'silent');
  const common = {
    REDIS_URL: t.url,
    HERMES_PREFIX: t.prefix,
    LOG_LEVEL: 'silent',
    TARGETS_FILE: targetsFile,
  };
  // The shipped policy: its budgets (1 per region, 2 across the fleet) and its widespread: block.
  const policy = 'config/policy.yaml';
  const ingest: IngestHandle = await startIngest(
    parseEnv(ingestEnvSchema, {
      ...common,
      PORT: '0',
      HOST: '127.0.0.1',
      POLICY_FILE: policy,
      USERS_FILE: writeUsersFile([APPROVER]),
    }),
    { logger },
  );
  const executor = await startExecutor(
    parseEnv(executorEnvSchema, { ...common, EXECUTION_MODE: 'live', POLICY_FILE: policy }),
    { logger },
  );
  const triage = await startTriage(
    parseEnv(triageEnvSchema, {
      ...common,
      PLANNER: 'runbook',
      VERIFY_WINDOW_SECONDS: '60',
      VERIFY_INTERVAL_MS: '200',
    }),
    { logger },
  );
  const notifier = await startPagedNotifier({ url: t.url, prefix: t.prefix });
  const store = new IncidentStore(t.redis, t.keys);
  const post = (path: string, body: unknown) =>
    fetch(`${ingest.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${APPROVER.token}` },
      body: JSON.stringify(body),
    });
  return {
    store,
    pages: () => notifier.pages(),
    post,
    fire: (alerts: TestAlert[], status: 'firing' | 'resolved' = 'firing') =>
      post('/webhooks/alertmanager', {
        version: '4',
        groupKey: '{}:{alertname="ServiceDown"}',
        truncatedAlerts: 0,
        status,
        receiver: 'hermes',
        groupLabels: { alertname: 'ServiceDown' },
        commonLabels: {},
        commonAnnotations: {},
        externalURL: 'http://alertmanager.test',
        alerts: alerts.map((a) => toAlert({ ...a, status })),
      }),
    /** The audit chain's entries (the executor's own record of what humans and the agent did). */
    async audit(): Promise<Record<string, unknown>[]> {
      const entries = (await t.redis.xrange(t.keys.audit, '-', '+')) as [string, string[]][];
      return entries.map(
        ([, fields]) => JSON.parse(fields[fields.indexOf('data') + 1] ?? '{}') as Record<string, unknown>,
      );
    },
    /** Restarts of api-gateway as each host recorded them, by host address. */
    restarts: () =>
      fleet.hosts.flatMap((host) => Array(host.restarts('api-gateway')).fill(host.address) as string[]),
    async incidents(): Promise<Incident[]> {
      const ids = (await store.list({ limit: 100 })).incidents.map((i) => i.id);
      return (await Promise.all(ids.map((id) => store.get(id)))).filter((i): i is Incident => i !== null);
    },
    async close() {
      await triage.close();
      await executor.close();
      await notifier.close();
      await ingest.close();
      await fleet.stop();
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('a bad deploy across three regions', () => {
  let w: Awaited<ReturnType<typeof world>>;
  beforeAll(async () => {
    w = await world('fleet');
  }, 60_000);
  afterAll(() => w?.close());

  it('nine hosts down at once: one level-3 fleet incident, every member linked, no restart, one page per channel', async () => {
    const sent = await w.fire(HOSTS.map(down));
    expect(sent.status).toBe(202);
    const fleet = await eventually(
      async () => (await w.incidents()).find((i) => i.fleet !== undefined),
      'the fleet incident',
    );
    expect(fleet).toMatchObject({ level: 3, alertname: 'ServiceDown' });
    expect(fleet.fleet?.regions.slice().sort()).toEqual([...REGIONS].sort());
    expect(fleet.fleet?.places).toHaveLength(9);
    expect(fleet.fleet?.members).toHaveLength(9);
    // Every member asked for its restart and was held by the fleet incident.
    await eventually(
      async () => {
        const members = (await w.incidents()).filter((i) => i.fleetIncident === fleet.id);
        return (
          members.length === 9 &&
          members.every((m) => m.actions.some((a) => a.tool === 'restart_service' && a.decision === 'held'))
        );
      },
      'nine held restarts',
      30_000,
    );
    const members = (await w.incidents()).filter((i) => i.fleetIncident === fleet.id);
    for (const member of members)
      expect(member.actions.find((a) => a.decision === 'held')?.reason).toContain(
        `fleet incident ${fleet.id}`,
      );
    expect(w.restarts()).toEqual([]);
    // One page per channel, naming the fleet; nothing per host.
    await eventually(async () => w.pages().pagerduty >= 1 && w.pages().email >= 1, 'the page');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(w.pages()).toEqual({ pagerduty: 1, slack: 1, email: 1 });
  }, 90_000);

  it('a human releases eu-west: only eu-west runs, one at a time (budgets.maxInFlight), audited with the name', async () => {
    const fleet = (await w.incidents()).find((i) => i.fleet !== undefined) as Incident;
    const released = await w.post(`/api/incidents/${fleet.id}/release`, { region: 'eu-west' });
    expect(released.status).toBe(200);
    expect(await released.json()).toMatchObject({ released: 3, by: 'alice' });
    await eventually(async () => w.restarts().length === 1, 'the first eu-west restart', 20_000);
    const ran = async () =>
      (await w.incidents()).filter((i) => i.actions.some((a) => a.decision === 'executed'));
    await eventually(async () => (await ran()).length === 1, 'the restart on its incident');
    expect((await ran()).map((i) => i.labels.region)).toEqual(['eu-west']);
    expect(w.restarts()).toEqual([(await ran())[0]?.instance.split(':')[0]]);
    // One change per region in flight: the next eu-west one waits for this one's verdict.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(w.restarts()).toHaveLength(1);
    // Its verdict frees the region's slot: the next eu-west change runs by itself.
    const first = (await ran())[0] as Incident;
    await w.fire([down({ region: 'eu-west', host: first.instance.split(':')[0] as string })], 'resolved');
    await eventually(async () => w.restarts().length === 2, 'the second eu-west restart', 20_000);
    await eventually(async () => (await ran()).length === 2, 'the second restart on its incident');
    expect((await ran()).map((i) => i.labels.region)).toEqual(['eu-west', 'eu-west']);
    const euWest = HOSTS.filter((h) => h.region === 'eu-west').map((h) => h.host);
    for (const host of w.restarts()) expect(euWest).toContain(host);
    const audit = await w.audit();
    expect(audit.filter((e) => e.event === 'fleet_released')).toEqual([
      expect.objectContaining({ fleetId: fleet.id, region: 'eu-west', by: 'alice' }),
    ]);
  }, 90_000);

  it('resolving the fleet incident drops every held change: none runs later, no member pages', async () => {
    const fleet = (await w.incidents()).find((i) => i.fleet !== undefined) as Incident;
    const before = w.restarts().length;
    const resolved = await w.post(`/api/incidents/${fleet.id}/resolve`, { reason: 'rolled back the deploy' });
    expect(resolved.status).toBe(200);
    await eventually(
      async () => {
        const members = (await w.incidents()).filter((i) => i.fleetIncident === fleet.id);
        return members.every((m) => !m.actions.some((a) => a.decision === 'held'));
      },
      'every held change dropped',
      30_000,
    );
    const members = (await w.incidents()).filter((i) => i.fleetIncident === fleet.id);
    const cancelled = members.flatMap((m) => m.actions.filter((a) => a.decision === 'cancelled'));
    expect(cancelled.length).toBeGreaterThanOrEqual(6);
    for (const action of cancelled) expect(action.reason).toContain(fleet.id);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(w.restarts()).toHaveLength(before);
    expect(w.pages()).toEqual({ pagerduty: 1, slack: 1, email: 1 });
  }, 90_000);
});
