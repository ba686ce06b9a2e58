import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Job, Worker } from 'bullmq';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { IngestHandle } from '../../services/ingest/service.js';
import { startTestIngest } from '../../services/ingest/test/harness.js';
import { fakeFleetExecutor, fireFleet } from '../support/fleets.js';
import { openTestRedis, type TestRedis } from '../support/redis.js';
import { writeUsersFile } from '../support/users.js';

const run = promisify(execFile);
const DANA = 'dana-fleet-token-0123456789abcdef';
let t: TestRedis;
let ingest: IngestHandle;
let executor: Worker;
let asked: Job[];

beforeEach(async () => {
  t = await openTestRedis();
  ingest = await startTestIngest(t, {
    USERS_FILE: writeUsersFile([{ name: 'dana', role: 'approver', token: DANA }]),
  });
  asked = [];
  executor = fakeFleetExecutor(t, asked, (job) =>
    job.name === 'fleet_release' ? { released: 2 } : { cancelled: 4 },
  );
});
afterEach(async () => {
  await executor.close();
  await ingest.close();
  await t.close();
});

const hermes = (...args: string[]) =>
  run('node', ['bin/hermes.js', '--url', ingest.url, ...args], {
    env: { ...process.env, ADMIN_TOKEN: '', HERMES_TOKEN: DANA, USER: 'root' },
  });

it('releases a region and cancels held changes of a fleet incident named by its short id, and shows the fleet', async () => {
  const { members, fleetId } = await fireFleet(t, ingest.url, ['us-east', 'eu-west']);
  const list = JSON.parse((await hermes('incidents', '--json')).stdout) as {
    incidents: { id: string; shortId: string }[];
  };
  const short = list.incidents.find((incident) => incident.id === fleetId)?.shortId as string;
  expect(short.length).toBeLessThan(fleetId.length);

  expect((await hermes('release', short, 'eu-west')).stdout.trim()).toBe(
    'released 2 held change(s) in eu-west (by dana)',
  );
  expect((await hermes('cancel-held', short, '--reason', 'bad deploy')).stdout.trim()).toBe(
    'cancelled 4 held change(s) (by dana)',
  );
  expect(asked.map((job) => [job.name, job.data])).toEqual([
    ['fleet_release', { fleetId, region: 'eu-west', by: 'dana' }],
    ['fleet_cancel', { fleetId, by: 'dana', reason: 'bad deploy' }],
  ]);
  await expect(hermes('release', short, 'mars')).rejects.toThrow(/400 fleet incident .* not in mars/);
  await expect(hermes('release', short)).rejects.toThrow(/usage: hermes release/);

  const shown = (await hermes('incident', short)).stdout;
  expect(shown).toContain(
    'fleet: open  ServiceDown on api-gateway in 2 regions (eu-west, us-east), 2 places',
  );
  expect(shown).not.toContain('where:');
  expect(shown).toContain('places: api-server-01 (eu-west), api-server-00 (us-east)');
  expect((await hermes('incident', members[0] as string)).stdout).toContain(
    `part of fleet incident ${fleetId}`,
  );
  // In the list, a member says whose humans its changes wait for.
  const listed = (await hermes('incidents')).stdout.split('\n');
  for (const member of members)
    expect(listed.find((line) => line.startsWith(member))).toContain(`(fleet ${short})`);
  expect(listed.find((line) => line.startsWith(short))).not.toContain('(fleet');
});
