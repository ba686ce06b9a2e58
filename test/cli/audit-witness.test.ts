import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { AuditLog } from '../../services/executor/audit.js';
import type { IngestHandle } from '../../services/ingest/service.js';
import { startTestIngest } from '../../services/ingest/test/harness.js';
import { chainHash } from '../../shared/audit-chain.js';
import { createLogger } from '../../shared/logger.js';
import { type ExecutorHarness, startExecutorHarness } from '../support/executor-harness.js';
import { openIncident } from '../support/incidents.js';

const run = promisify(execFile);
const admin = { authorization: 'Bearer audit-admin', 'content-type': 'application/json' };
let h: ExecutorHarness;
let ingest: IngestHandle;
let logLines: string[];
let dir: string;
let witnessFile: string;

beforeEach(async () => {
  logLines = [];
  const logger = createLogger('executor', 'info', { write: (line: string) => void logLines.push(line) });
  dir = mkdtempSync(join(tmpdir(), 'hermes-witness-'));
  witnessFile = join(dir, 'audit-witness.jsonl');
  h = await startExecutorHarness({ logger, env: { AUDIT_WITNESS_FILE: witnessFile } });
  ingest = await startTestIngest(h.t, { ADMIN_TOKEN: 'audit-admin', AUDIT_MAX_ENTRIES: '100' });
});
afterEach(async () => {
  await ingest.close();
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

function hermes(...args: string[]) {
  return run('node', ['bin/hermes.js', '--url', ingest.url, ...args], {
    env: { ...process.env, ADMIN_TOKEN: 'audit-admin' },
  });
}

async function api(path: string, body: unknown): Promise<Response> {
  return fetch(`${ingest.url}${path}`, { method: 'POST', headers: admin, body: JSON.stringify(body) });
}

type Entry = [id: string, fields: string[]];
const field = (entry: Entry | undefined, name: string) => entry?.[1][entry[1].indexOf(name) + 1] as string;
const events = (entries: Entry[]) => entries.map((entry) => JSON.parse(field(entry, 'data')).event);

/** An action decision (a refused tool), a breaker reset and an incident command: entries 1, 2, 3. */
async function auditThreeKinds(): Promise<Entry[]> {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
  expect((await h.submit({ incidentId, tool: 'drop_table', args: {} })).decision).toBe('blocked');
  expect((await api('/api/automation/breaker/reset', { by: 'alice', reason: 'fixed by hand' })).status).toBe(
    200,
  );
  expect((await api(`/api/incidents/${incidentId}/resolve`, { by: 'carol' })).status).toBe(200);
  const entries = (await h.t.redis.xrange(h.t.keys.audit, '-', '+')) as Entry[];
  expect(events(entries)).toEqual(['action', 'breaker_reset', 'incident_resolve']);
  return entries;
}

it('witnesses every audit entry in a log line; one removed at the newest end is named by verify', async () => {
  const entries = await auditThreeKinds();
  const witnessed = logLines
    .map((line) => JSON.parse(line) as { auditSeq?: number; auditHash?: string })
    .filter((line) => line.auditSeq !== undefined)
    .map((line) => [line.auditSeq, line.auditHash]);
  expect(witnessed.sort()).toEqual(entries.map((entry, i) => [i + 1, field(entry, 'hash')]));
  const log = join(dir, 'executor.log');
  writeFileSync(log, logLines.join(''));

  // The incident command is removed, head and counter rewound: Redis alone still verifies.
  await h.t.redis.xdel(h.t.keys.audit, entries[2]?.[0] as string);
  await h.t.redis.set(h.t.keys.auditHead, field(entries[1], 'hash'));
  await h.t.redis.set(h.t.keys.auditSeq, '2');
  expect((await hermes('audit', 'verify')).stdout).toMatch(/^chain: +intact: 2 entries, up to number 2/m);

  await expect(hermes('audit', 'verify', '--witness', log)).rejects.toMatchObject({
    code: 2,
    stdout: expect.stringMatching(
      /^witness: +BROKEN: entry 3 was witnessed but the chain ends at 2: removed at the newest end/m,
    ),
  });
});

it('names a breaker reset removed from the middle with the later entries chained again', async () => {
  const entries = await auditThreeKinds();
  const lines = readFileSync(witnessFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(lines.map((line) => line.seq).sort()).toEqual([1, 2, 3]);

  // A careful intruder drops entry 2 and re-chains entry 3 as number 2, head and counter to match.
  const [first, , third] = entries;
  const data = field(third, 'data').replace('"seq":3', '"seq":2');
  const hash = chainHash(field(first, 'hash'), data);
  await h.t.redis.xdel(h.t.keys.audit, entries[1]?.[0] as string, third?.[0] as string);
  await h.t.redis.xadd(h.t.keys.audit, '*', 'prev', field(first, 'hash'), 'data', data, 'hash', hash);
  await h.t.redis.set(h.t.keys.auditHead, hash);
  await h.t.redis.set(h.t.keys.auditSeq, '2');
  expect((await hermes('audit', 'verify')).stdout).toMatch(/^chain: +intact: 2 entries/m);

  const verified = hermes('audit', 'verify', '--witness', witnessFile);
  await expect(verified).rejects.toMatchObject({
    code: 2,
    stdout: expect.stringMatching(/^witness: +BROKEN: entry 2 differs from the witnessed one/m),
  });
  await expect(verified).rejects.toMatchObject({
    stdout: expect.stringMatching(/entry 3 was witnessed but the chain ends at 2/),
  });
});

it("checks the oldest end against the verifier's own AUDIT_MAX_ENTRIES, never Redis'", async () => {
  const audit = new AuditLog(h.t.redis, h.t.keys, 100);
  for (let i = 0; i < 250; i++) await audit.append({ event: 'action', n: i });
  const kept = (await h.t.redis.xrange(h.t.keys.audit, '-', '+')) as Entry[];
  // Gutted: the oldest 50 kept entries removed, the anchor moved to the last of them, and the
  // executor's published retention rewritten to 1.
  const gone = kept.slice(0, 50);
  await h.t.redis.xdel(h.t.keys.audit, ...gone.map(([id]) => id));
  const last = gone.at(-1);
  await h.t.redis.set(h.t.keys.auditAnchor, `${JSON.parse(field(last, 'data')).seq}:${field(last, 'hash')}`);
  await h.t.redis.set(
    h.t.keys.exec('mode'),
    JSON.stringify({ mode: 'live', at: new Date().toISOString(), auditMaxEntries: 1 }),
  );
  const left = kept.length - 50;
  const broken = new RegExp(
    `only ${left} entries are kept although older ones were trimmed \\(AUDIT_MAX_ENTRIES is 100\\)`,
  );
  // Ingest verifies with its own AUDIT_MAX_ENTRIES (100), and so does the CLI with its flag.
  await expect(hermes('audit', 'verify')).rejects.toMatchObject({
    code: 2,
    stdout: expect.stringMatching(broken),
  });
  await expect(hermes('audit', 'verify', '--max-entries', '100')).rejects.toMatchObject({
    code: 2,
    stdout: expect.stringMatching(broken),
  });
  expect((await hermes('audit', 'verify', '--max-entries', String(left))).stdout).toMatch(/^chain: +intact/m);
});
