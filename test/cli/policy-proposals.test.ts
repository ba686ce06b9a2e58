import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { IngestHandle } from '../../services/ingest/service.js';
import { startTestIngest } from '../../services/ingest/test/harness.js';
import { approvedRestart, REPEATABLE } from '../support/approved-fixes.js';
import { type ExecutorHarness, startExecutorHarness } from '../support/executor-harness.js';
import { LOCAL_TARGETS } from '../support/targets.js';
import { writeUsersFile } from '../support/users.js';

const run = promisify(execFile);
const VERA = 'vera-cli-token-0123456789abcdef';
let h: ExecutorHarness;
let ingest: IngestHandle;

beforeAll(async () => {
  h = await startExecutorHarness({ breakerThreshold: 100, restartsPerHour: 50, policyExtra: REPEATABLE });
  ingest = await startTestIngest(h.t, {
    TARGETS_FILE: LOCAL_TARGETS,
    POLICY_FILE: join(h.dir, 'policy.yaml'),
    USERS_FILE: writeUsersFile([{ name: 'vera', role: 'viewer', token: VERA }]),
  });
});
afterAll(async () => {
  await ingest.close();
  await h.close();
});

const hermes = async (...args: string[]) =>
  (
    await run('node', ['bin/hermes.js', '--url', ingest.url, ...args], {
      env: { ...process.env, ADMIN_TOKEN: '', HERMES_TOKEN: VERA, USER: 'root' },
    })
  ).stdout;

it('policy proposals prints each proposal’s evidence and diff, escaped, and says only a human applies it', async () => {
  const policy = readFileSync(join(h.dir, 'policy.yaml'));
  expect(await hermes('policy', 'proposals')).toContain('no proposals');

  // An alert's name is data: a terminal escape in it must not reach the terminal.
  const alertname = 'Service\u001b[2JDown';
  const incidents: string[] = [];
  for (const approver of ['alice', 'bob', 'alice', 'carol', 'bob'])
    incidents.push(await approvedRestart(h, { service: 'api', approver, effective: true, alertname }));

  const out = await hermes('policy', 'proposals');
  expect(out).toContain('apply by editing policy.yaml; Hermes never changes its own policy');
  expect(out).toMatch(
    /preapprove restart_service for Service\\u\{1b\}\[2JDown on api: approved 5 times by alice, bob, carol, all verified fixed, median \d+ s/,
  );
  for (const id of incidents)
    expect(out).toMatch(new RegExp(`${id} .* test-machine {2}approved by \\w+ {2}fixed after \\d+ s`));
  expect(out).toContain('+  # proposed by Hermes: 5 approved restart_service runs, all verified fixed');
  expect(out).toContain(
    '+  - { alertname: "Service\\u001b[2JDown", tool: "restart_service", resource: "api"',
  );
  expect(out).not.toContain('\u001b');

  const json = JSON.parse(await hermes('policy', 'proposals', '--json'));
  expect(json.proposals).toHaveLength(1);
  await expect(hermes('policy', 'apply')).rejects.toThrow(/usage: hermes policy proposals/);
  expect(readFileSync(join(h.dir, 'policy.yaml')).equals(policy)).toBe(true);
});
