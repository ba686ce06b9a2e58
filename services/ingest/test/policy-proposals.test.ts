import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LearnedRules } from '../../../shared/learned-rules.js';
import type { PolicyProposals } from '../../../shared/policy-proposals.js';
import { approvedRestart, REPEATABLE } from '../../../test/support/approved-fixes.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { LOCAL_TARGETS } from '../../../test/support/targets.js';
import { writeUsersFile } from '../../../test/support/users.js';
import { parsePolicy } from '../../executor/policy.js';
import type { IngestHandle } from '../service.js';
import { startTestIngest } from './harness.js';

const run = promisify(execFile);
let h: ExecutorHarness;
let ingest: IngestHandle;
let policyFile: string;

const USERS = () => writeUsersFile([{ name: 'victor', role: 'viewer', token: 'victor-token' }]);

beforeEach(async () => {
  h = await startExecutorHarness({ breakerThreshold: 100, restartsPerHour: 50, policyExtra: REPEATABLE });
  policyFile = join(h.dir, 'policy.yaml');
  ingest = await startTestIngest(h.t, {
    TARGETS_FILE: LOCAL_TARGETS,
    POLICY_FILE: policyFile,
    USERS_FILE: USERS(),
  });
});
afterEach(async () => {
  await ingest.close();
  await h.close();
});

async function proposals(url = ingest.url): Promise<PolicyProposals> {
  const response = await fetch(`${url}/api/policy/proposals`, {
    headers: { authorization: 'Bearer victor-token' },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as PolicyProposals;
}

const restarts = async (count: number, service: string, effective = true) => {
  const ids: string[] = [];
  for (let i = 0; i < count; i++)
    ids.push(await approvedRestart(h, { service, approver: i % 2 === 0 ? 'alice' : 'bob', effective }));
  return ids;
};

describe('GET /api/policy/proposals', () => {
  it('five approved restarts, all verified fixed, make a proposal whose diff applies to a valid policy; the file is never written', async () => {
    const before = readFileSync(policyFile);
    const modified = statSync(policyFile).mtimeMs;
    const incidents = await restarts(5, 'api');

    const body = await proposals();
    expect(body).toMatchObject({
      policyFile,
      apply: 'apply by editing policy.yaml; Hermes never changes its own policy',
      proposeAfterApprovals: 5,
    });
    expect(body.unreadable).toBeUndefined();
    expect(body.proposals).toHaveLength(1);
    const [proposal] = body.proposals;
    expect(proposal).toMatchObject({
      alertname: 'ServiceDown',
      tool: 'restart_service',
      resource: 'api',
      approvals: 5,
      approvers: ['alice', 'bob'],
    });
    expect(proposal?.evidence.map((run) => run.incidentId)).toEqual(incidents);
    expect(proposal?.evidence.map((run) => run.approvedBy)).toEqual([
      'alice',
      'bob',
      'alice',
      'bob',
      'alice',
    ]);
    expect(proposal?.diff).toMatch(/^--- .*policy\.yaml\n\+\+\+ .*policy\.yaml\n@@ -\d+,\d+ \+\d+,\d+ @@\n/);
    expect(proposal?.diff).toMatch(
      /\n\+ {2}# proposed by Hermes: 5 approved restart_service runs, all verified fixed, median \d+ s\n/,
    );

    // The diff, applied by `patch` to a copy as a human would, gives a policy the executor accepts.
    const copy = join(h.dir, 'applied.yaml');
    writeFileSync(copy, before);
    writeFileSync(join(h.dir, 'proposal.diff'), proposal?.diff ?? '');
    await run('patch', [copy, join(h.dir, 'proposal.diff')]);
    const applied = parsePolicy(readFileSync(copy, 'utf8'), copy);
    expect(applied.preapproved).toEqual([
      {
        alertname: 'ServiceDown',
        tool: 'restart_service',
        resource: 'api',
        reason: 'approved by alice, bob; verified fixed 5 of 5 times',
      },
    ]);

    // Hermes never writes the policy file: computing and serving proposals left it as it was.
    expect(readFileSync(policyFile).equals(before)).toBe(true);
    expect(statSync(policyFile).mtimeMs).toBe(modified);

    // Once a human applies it, the pair is preapproved and no longer proposed.
    writeFileSync(policyFile, readFileSync(copy));
    expect((await proposals()).proposals).toEqual([]);
  });

  it('four approvals make none, and one ineffective among five makes none', async () => {
    await restarts(4, 'api');
    expect((await proposals()).proposals).toEqual([]);
    await restarts(4, 'worker');
    await restarts(1, 'worker', false);
    expect((await proposals()).proposals).toEqual([]);
    await restarts(1, 'api');
    expect((await proposals()).proposals.map((proposal) => proposal.resource)).toEqual(['api']);
  });

  it('a learned rule in force for the fix makes none', async () => {
    await restarts(5, 'api');
    expect((await proposals()).proposals).toHaveLength(1);
    await new LearnedRules(h.t.redis, h.t.keys).noteIneffective(
      { alertname: 'ServiceDown', tool: 'restart_service', resource: 'api' },
      {
        incidentId: 'inc_elsewhere',
        actionId: 'act_elsewhere',
        target: 'test-machine',
        verdict: 'ineffective',
        at: new Date().toISOString(),
      },
      { ineffectiveToConfirm: 1, windowSeconds: 60, cooldownSeconds: 3600 },
    );
    expect((await proposals()).proposals).toEqual([]);
  });

  it('follows learning.proposeAfterApprovals in the policy file', async () => {
    await restarts(2, 'api');
    expect((await proposals()).proposals).toEqual([]);
    writeFileSync(policyFile, `${readFileSync(policyFile, 'utf8')}learning: { proposeAfterApprovals: 2 }\n`);
    const body = await proposals();
    expect(body.proposeAfterApprovals).toBe(2);
    expect(body.proposals.map((proposal) => proposal.approvals)).toEqual([2]);
  });

  it('without a readable policy file the diff is the snippet alone, and says so', async () => {
    await restarts(5, 'api');
    const missing = join(h.dir, 'nowhere.yaml');
    const other = await startTestIngest(h.t, { POLICY_FILE: missing, USERS_FILE: USERS() });
    try {
      const body = await proposals(other.url);
      expect(body.unreadable).toContain(`cannot read ${missing}`);
      expect(body.proposals[0]?.diff).toMatch(
        /^# cannot read .*nowhere\.yaml.*; add this to its preapproved: list by hand\npreapproved:\n {2}# proposed by Hermes: 5 approved/,
      );
    } finally {
      await other.close();
    }
  });

  it('needs a viewer credential and takes no query', async () => {
    expect((await fetch(`${ingest.url}/api/policy/proposals`)).status).toBe(401);
    const wrong = await fetch(`${ingest.url}/api/policy/proposals`, {
      headers: { authorization: 'Bearer not-a-token' },
    });
    expect(wrong.status).toBe(401);
    const query = await fetch(`${ingest.url}/api/policy/proposals?write=yes`, {
      headers: { authorization: 'Bearer victor-token' },
    });
    expect(query.status).toBe(400);
    expect((await proposals()).proposals).toEqual([]);
  });
});
