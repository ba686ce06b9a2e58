import type { Job, Worker } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { IngestHandle } from '../../services/ingest/service.js';
import { startTestIngest } from '../../services/ingest/test/harness.js';
import { signInToConsole } from '../support/console.js';
import { fakeFleetExecutor, fireFleet } from '../support/fleets.js';
import { openTestRedis, type TestRedis } from '../support/redis.js';

const TOKEN = 'console-fleet-token';
let t: TestRedis;
let ingest: IngestHandle;
let executor: Worker;
const asked: Job[] = [];

beforeAll(async () => {
  t = await openTestRedis();
  ingest = await startTestIngest(t, { ADMIN_TOKEN: TOKEN });
  executor = fakeFleetExecutor(t, asked, () => ({ released: 1 }));
});
afterAll(async () => {
  await executor.close();
  await ingest.close();
  await t.close();
});

const signIn = () => signInToConsole(ingest.url, { name: 'olga', token: TOKEN });

it('shows a fleet incident with its places, members and a Release button per region; a member links to it; regions are escaped', async () => {
  const { cookie, csrf } = await signIn();
  const { members, fleetId } = await fireFleet(t, ingest.url, ['us-east', '<b>eu</b>']);
  const page = await (await fetch(`${ingest.url}/ui/incidents/${fleetId}`, { headers: { cookie } })).text();
  expect(page).toContain('Fleet incident');
  expect(page).not.toContain('<b>eu</b>');
  expect(page).toContain('data-region="&lt;b&gt;eu&lt;/b&gt;"');
  expect(page).toContain('Release us-east');
  expect(page).toContain(`data-post="/api/incidents/${fleetId}/cancel-held"`);
  for (const id of members)
    expect(page).toMatch(
      new RegExp(
        `/ui/incidents/${id}">${id}</a> <span class="muted">[^<]+:9100</span> <span class="badge status-open">`,
      ),
    );
  expect(page).toContain('where its members are (above): a fleet incident has no alerts of its own');
  const memberPage = await (
    await fetch(`${ingest.url}/ui/incidents/${members[0]}`, { headers: { cookie } })
  ).text();
  expect(memberPage).toContain(`Part of fleet incident <a href="/ui/incidents/${fleetId}">${fleetId}</a>`);
  // In the list, each member's status links to its fleet incident.
  const list = await (await fetch(`${ingest.url}/ui`, { headers: { cookie } })).text();
  for (const id of members)
    expect(list).toMatch(
      new RegExp(
        `data-incident="${id}"[^>]*>(?:(?!</tr>).)*<a class="owner" href="/ui/incidents/${fleetId}">in fleet</a>`,
        's',
      ),
    );

  // The button posts as the console does: the session and its CSRF token; the session names who.
  const noCsrf = await fetch(`${ingest.url}/api/incidents/${fleetId}/release`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ region: 'us-east' }),
  });
  expect(noCsrf.status).toBe(403);
  const released = await fetch(`${ingest.url}/api/incidents/${fleetId}/release`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf },
    body: JSON.stringify({ region: '<b>eu</b>' }),
  });
  expect(await released.json()).toEqual({ released: 1, by: 'olga+break-glass' });
  expect(asked.map((job) => job.data)).toEqual([{ fleetId, region: '<b>eu</b>', by: 'olga+break-glass' }]);
});
