import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { audited as auditedIn } from '../../../test/support/audit.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { openIncident } from '../../../test/support/incidents.js';
import { LOCAL_TARGETS } from '../../../test/support/targets.js';
import { writeUsersFile } from '../../../test/support/users.js';
import type { IngestHandle } from '../service.js';
import { startTestIngest } from './harness.js';

let h: ExecutorHarness;
let ingest: IngestHandle;

beforeEach(async () => {
  h = await startExecutorHarness({ breakerThreshold: 100, restartsPerHour: 20 });
  ingest = await startTestIngest(h.t, {
    ADMIN_TOKEN: 'outcomes-admin',
    // Where the executor acts too: history is looked up by the incident's own place.
    TARGETS_FILE: LOCAL_TARGETS,
    USERS_FILE: writeUsersFile([
      { name: 'alice', role: 'approver', token: 'alice-token' },
      { name: 'victor', role: 'viewer', token: 'victor-token' },
    ]),
  });
});
afterEach(async () => {
  await ingest.close();
  await h.close();
});

const as = (who: string) => ({ authorization: `Bearer ${who}-token`, 'content-type': 'application/json' });
const get = async (path: string, who = 'victor') => {
  const response = await fetch(`${ingest.url}${path}`, { headers: as(who) });
  return { status: response.status, body: await response.json() };
};

/** A new ServiceDown incident on `service`, the agent's restart of it, and triage's verdict (if any). */
async function fix(service: string, effective?: boolean) {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service, level: 1 });
  const outcome = await h.submit({
    incidentId,
    tool: 'restart_service',
    args: { service, host: 'app-server-01', reason: 'down' },
  });
  if (effective !== undefined) await h.feedback({ incidentId, actionId: outcome.actionId, effective });
  return { incidentId, outcome };
}

describe('GET /api/outcomes', () => {
  it('filters by alertname, resource, target and tool, with totals per verdict and the median time to recover', async () => {
    const api = [await fix('api', true), await fix('api', false)];
    await fix('worker', true);
    const { status, body } = await get('/api/outcomes?resource=api&tool=restart_service&target=test-machine');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      total: 2,
      totals: { fixed: 1, ineffective: 1, failed: 0, unknown: 0, none: 0 },
    });
    expect(body.outcomes.map((outcome: { incidentId: string }) => outcome.incidentId)).toEqual([
      api[1]?.incidentId,
      api[0]?.incidentId,
    ]);
    expect(body.medianSecondsToRecover).toBe(body.outcomes[1].seconds);
    expect((await get('/api/outcomes?alertname=ServiceDown')).body.total).toBe(3);
    expect((await get('/api/outcomes?alertname=DiskSpaceLow')).body).toMatchObject({
      total: 0,
      medianSecondsToRecover: null,
      outcomes: [],
    });
    expect((await get('/api/outcomes?colour=red')).status).toBe(400);
    expect((await get('/api/outcomes?limit=0')).status).toBe(400);
  });

  it("an incident's history lists the same place's earlier incidents and their verdicts", async () => {
    const first = await fix('api', true);
    const second = await fix('api', false);
    await fix('worker', true);
    const now = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api', level: 1 });
    const { body } = await get(`/api/incidents/${now}`);
    expect(
      body.history.map((entry: { incidentId: string; verdict: string }) => [entry.incidentId, entry.verdict]),
    ).toEqual([
      [second.incidentId, 'ineffective'],
      [first.incidentId, 'fixed'],
    ]);
  });
});

describe('learned rules through the API', () => {
  it('are listed with evidence and expiry, cleared by a named human, audited; the next fix runs again', async () => {
    const evidence = [];
    for (let i = 0; i < 3; i++) evidence.push((await fix('api', false)).incidentId);
    const asked = await fix('api');
    expect(asked.outcome.decision).toBe('pending_approval');

    const automation = (await get('/api/automation')).body;
    expect(automation.learned).toHaveLength(1);
    const [rule] = automation.learned;
    expect(rule).toMatchObject({ alertname: 'ServiceDown', tool: 'restart_service', resource: 'api' });
    expect(rule.evidence.map((entry: { incidentId: string }) => entry.incidentId)).toEqual(evidence);
    expect(Date.parse(rule.expiresAt)).toBeGreaterThan(Date.now());

    const clear = (who: string, body: Record<string, unknown>, id = rule.id) =>
      fetch(`${ingest.url}/api/automation/learned/${id}/clear`, {
        method: 'POST',
        headers: as(who),
        body: JSON.stringify(body),
      });
    expect((await clear('victor', { reason: 'looked' })).status).toBe(403);
    expect((await clear('alice', { reason: 'x' }, 'lrn_nothex')).status).toBe(400);
    expect((await clear('alice', { by: 'mallory', reason: 'x' })).status).toBe(403);
    const cleared = await clear('alice', { reason: 'the config was fixed' });
    expect(cleared.status).toBe(200);
    expect(await cleared.json()).toMatchObject({ cleared: true, clearedBy: 'alice', learned: [] });
    expect((await clear('alice', { reason: 'again' })).status).toBe(404);

    const audited = await auditedIn(h.t, 'learned_rule_cleared');
    expect(audited).toMatchObject([{ ruleId: rule.id, by: 'alice', reason: 'the config was fixed' }]);
    expect((await fix('api')).outcome.decision).toBe('executed');
  });
});
