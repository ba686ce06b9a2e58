import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { IngestHandle } from '../../services/ingest/service.js';
import { post, startTestIngest } from '../../services/ingest/test/harness.js';
import { type ExecutorHarness, startExecutorHarness } from '../support/executor-harness.js';
import { webhookBody } from '../support/incidents.js';

// Two regions, each one local target (the executor's own machine): both ingest and the executor place
// api-gateway's alerts on them by their region label.
const TARGETS = `version: 1
targets:
  - { name: east, match: { region: us-east }, kind: local, topology: { region: us-east } }
  - { name: west, match: { region: eu-west }, kind: local, topology: { region: eu-west } }
`;

let dir: string;
let h: ExecutorHarness;
let ingest: IngestHandle;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hermes-fleet-e2e-'));
  const targets = join(dir, 'targets.yaml');
  writeFileSync(targets, TARGETS);
  h = await startExecutorHarness({ restartsPerHour: 100, env: { TARGETS_FILE: targets } });
  ingest = await startTestIngest(h.t, { ADMIN_TOKEN: 'fleet-e2e', TARGETS_FILE: targets });
});
afterEach(async () => {
  await ingest.close();
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

const api = (path: string, body: unknown) =>
  fetch(`${ingest.url}${path}`, {
    method: 'POST',
    headers: { authorization: 'Bearer fleet-e2e', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

it('a fleet incident ingest opened holds the agent restart of a member until a human releases its region', async () => {
  const alerts = ['us-east', 'eu-west'].map((region) => ({
    alertname: 'ServiceDown',
    service: 'api-gateway',
    instance: `${region}-1:9100`,
    labels: { region },
  }));
  const { incidents } = (await (await post(ingest.url, webhookBody(alerts))).json()) as {
    incidents: string[];
  };
  const fleetId = (await h.t.redis.hget(h.t.keys.fleetOpen('api-gateway'), 'ServiceDown')) as string;
  expect(fleetId).toBeTruthy();
  const west = incidents[1] as string;
  const asked = await h.submit({
    incidentId: west,
    tool: 'restart_service',
    args: { service: 'api-gateway', host: 'localhost', reason: 'down' },
  });
  expect(asked.decision).toBe('held');
  expect(asked.reason).toContain(`part of fleet incident ${fleetId}`);

  const released = await api(`/api/incidents/${fleetId}/release`, { by: 'alice', region: 'eu-west' });
  expect(released.status).toBe(200);
  expect(await released.json()).toEqual({ released: 1, by: 'alice+break-glass' });
});
