import { afterAll, beforeAll, expect, it } from 'vitest';
import type { IngestHandle } from '../../services/ingest/service.js';
import { startTestIngest } from '../../services/ingest/test/harness.js';
import { signInToConsole } from '../support/console.js';
import { type ExecutorHarness, startExecutorHarness } from '../support/executor-harness.js';
import { openIncident } from '../support/incidents.js';
import { LOCAL_TARGETS } from '../support/targets.js';

const TOKEN = 'console-judgement-token';
let h: ExecutorHarness;
let ingest: IngestHandle;

beforeAll(async () => {
  h = await startExecutorHarness({ breakerThreshold: 100, restartsPerHour: 20 });
  ingest = await startTestIngest(h.t, { ADMIN_TOKEN: TOKEN, TARGETS_FILE: LOCAL_TARGETS });
});
afterAll(async () => {
  await ingest.close();
  await h.close();
});

const signIn = () => signInToConsole(ingest.url, { name: 'olga', token: TOKEN });

async function fix(service: string, effective: boolean) {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service, level: 1 });
  const outcome = await h.submit({
    incidentId,
    tool: 'restart_service',
    args: { service, host: 'app-server-01', reason: 'down' },
  });
  await h.feedback({ incidentId, actionId: outcome.actionId, effective });
  return incidentId;
}

it("shows an incident's earlier fixes here, and the learned rules with their evidence and a clear button", async () => {
  const { cookie, csrf } = await signIn();
  const fixed = await fix('api', true);
  const ineffective = [await fix('api', false), await fix('api', false), await fix('api', false)];
  // A resource's name is data: escaped on the page.
  await fix('<b>x</b>', true);
  const now = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api', level: 1 });

  const incidentPage = await (
    await fetch(`${ingest.url}/ui/incidents/${now}`, { headers: { cookie } })
  ).text();
  expect(incidentPage).toContain('Earlier incidents here');
  expect(incidentPage).toMatch(
    /restart_service fixed ServiceDown on api here 1 of 4 times in 1 day; median \d+ s/,
  );
  for (const id of [fixed, ...ineffective]) expect(incidentPage).toContain(`/ui/incidents/${id}`);
  expect(incidentPage).not.toContain('<b>x</b>');

  const overview = await (await fetch(`${ingest.url}/ui`, { headers: { cookie } })).text();
  const ruleId = /data-post="\/api\/automation\/learned\/(lrn_[0-9a-f]{16})\/clear"/.exec(overview)?.[1];
  expect(ruleId).toBeDefined();
  expect(overview).toMatch(
    /<strong>restart_service<\/strong> for ServiceDown on <code>api<\/code> needs a human/,
  );
  for (const id of ineffective) expect(overview).toContain(`/ui/incidents/${id}`);

  // The button posts the reason as the console does, with the session's CSRF token; the session names who (signed in with the break-glass token).
  const cleared = await fetch(`${ingest.url}/api/automation/learned/${ruleId}/clear`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf },
    body: JSON.stringify({ reason: 'restarts cannot fix a config error; config fixed' }),
  });
  expect(await cleared.json()).toMatchObject({ cleared: true, clearedBy: 'olga+break-glass', learned: [] });
  const after = await (await fetch(`${ingest.url}/ui`, { headers: { cookie } })).text();
  expect(after).not.toContain('/api/automation/learned/');
  expect(after).toContain('none in force');
});
