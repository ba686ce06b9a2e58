import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { IngestHandle } from '../../services/ingest/service.js';
import { startTestIngest } from '../../services/ingest/test/harness.js';
import { type ExecutorHarness, startExecutorHarness } from '../support/executor-harness.js';
import { openIncident } from '../support/incidents.js';
import { LOCAL_TARGETS } from '../support/targets.js';
import { writeUsersFile } from '../support/users.js';

const run = promisify(execFile);
const ERIN = 'erin-cli-token-0123456789abcdef';
let h: ExecutorHarness;
let ingest: IngestHandle;

beforeAll(async () => {
  h = await startExecutorHarness({ breakerThreshold: 100, restartsPerHour: 20 });
  ingest = await startTestIngest(h.t, {
    ADMIN_TOKEN: 'cli-admin',
    TARGETS_FILE: LOCAL_TARGETS,
    USERS_FILE: writeUsersFile([{ name: 'erin', role: 'approver', token: ERIN }]),
  });
});
afterAll(async () => {
  await ingest.close();
  await h.close();
});

const hermes = async (...args: string[]) =>
  (
    await run('node', ['bin/hermes.js', '--url', ingest.url, ...args], {
      env: { ...process.env, ADMIN_TOKEN: '', HERMES_TOKEN: ERIN, USER: 'root' },
    })
  ).stdout;

async function fix(effective: boolean) {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api', level: 1 });
  const outcome = await h.submit({
    incidentId,
    tool: 'restart_service',
    args: { service: 'api', host: 'app-server-01', reason: 'down' },
  });
  await h.feedback({ incidentId, actionId: outcome.actionId, effective });
  return incidentId;
}

it('history shows the place earlier fixes; status lists learned rules and learned clear clears one', async () => {
  const fixed = await fix(true);
  const ineffective = [await fix(false), await fix(false), await fix(false)];
  const now = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api', level: 1 });

  const history = await hermes('history', now);
  expect(history).toMatch(
    /restart_service fixed ServiceDown on api here 1 of 4 times in 1 day; median \d+ s/,
  );
  expect(history).toContain(`${fixed}  `);
  for (const id of ineffective) expect(history).toMatch(new RegExp(`${id} .*: ineffective after`));

  const status = await hermes('status');
  expect(status).toMatch(/learned: {4}1 rule\(s\) in force/);
  const ruleId =
    /(lrn_[0-9a-f]{16}): restart_service for ServiceDown on api needs a human approval until/.exec(
      status,
    )?.[1];
  expect(ruleId).toBeDefined();
  for (const id of ineffective) expect(status).toContain(`${id} (test-machine)`);

  await expect(hermes('learned', 'clear', ruleId ?? '')).rejects.toThrow(/usage: hermes learned clear/);
  const cleared = await hermes('learned', 'clear', ruleId ?? '', '--reason', 'config fixed');
  expect(cleared).toContain(`learned rule ${ruleId} cleared by erin`);
  expect(cleared).toContain('learned:    no rules in force');
});
