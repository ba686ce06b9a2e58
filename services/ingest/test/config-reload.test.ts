import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PublishedConfigFile } from '../../../shared/config-versions.js';
import { IncidentStore } from '../../../shared/incidents.js';
import { webhookBody } from '../../../test/support/incidents.js';
import { eventually, openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import type { IngestHandle } from '../service.js';
import { post, startTestIngest } from './harness.js';

// A running ingest follows TARGETS_FILE and CLASSIFICATION_FILE, and shows which versions it runs.

const targetsText = (instances: string[]) =>
  `version: 1\ntargets:\n${instances.map((instance) => `  - name: ${instance}\n    kind: local\n    match: { instance: ${instance} }\n`).join('')}`;

let t: TestRedis;
let ingest: IngestHandle;
let dir: string;
let targetsFile: string;
let classificationFile: string;

beforeAll(async () => {
  t = await openTestRedis();
  dir = mkdtempSync(join(tmpdir(), 'hermes-ingest-reload-'));
  targetsFile = join(dir, 'targets.yaml');
  classificationFile = join(dir, 'classification.yaml');
  writeFileSync(targetsFile, targetsText(['box-a']));
  writeFileSync(classificationFile, 'levels:\n  CacheStale: 2\n');
  ingest = await startTestIngest(t, { TARGETS_FILE: targetsFile, CLASSIFICATION_FILE: classificationFile });
});
afterAll(async () => {
  await ingest?.close();
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function published(name: string): Promise<PublishedConfigFile | undefined> {
  const automation = (await (await fetch(`${ingest.url}/api/automation`)).json()) as {
    config: { ingest: Record<string, PublishedConfigFile> | null };
  };
  return automation.config.ingest?.[name];
}

async function changed(name: string, from: PublishedConfigFile | undefined): Promise<PublishedConfigFile> {
  return eventually(async () => {
    const now = await published(name);
    return (
      now &&
      (now.version?.sha256 !== from?.version?.sha256 || now.refused?.sha256 !== from?.refused?.sha256) &&
      now
    );
  }, `ingest to publish a new ${name}`);
}

async function open(alertname: string, instance: string): Promise<string> {
  const { incidents } = await (await post(ingest.url, webhookBody([{ alertname, instance }]))).json();
  return incidents[0];
}

it('levels new incidents by the CLASSIFICATION_FILE in force', async () => {
  const store = new IncidentStore(t.redis, t.keys);
  expect(await store.getLevel(await open('CacheStale', 'box-a'))).toBe(2);
  const before = await published('CLASSIFICATION_FILE');
  expect(before).toMatchObject({ version: { file: classificationFile }, reloads: true });

  writeFileSync(classificationFile, 'levels:\n  CacheStale: 1\n');
  await changed('CLASSIFICATION_FILE', before);
  expect(await store.getLevel(await open('CacheStale', 'box-c'))).toBe(1);
});

it("shows an incident's target from the TARGETS_FILE in force, and keeps it when an edit does not validate", async () => {
  const id = await open('ServiceDown', 'box-b');
  const incident = async () => (await fetch(`${ingest.url}/api/incidents/${id}`)).json();
  const loaded = await published('TARGETS_FILE');
  expect((await incident()).unplaced).toEqual([
    expect.stringMatching(
      `^no target in TARGETS_FILE \\(loaded ${loaded?.version?.loadedAt.slice(11, 19)}, sha ${loaded?.version?.sha256.slice(0, 8)}…\\) matches`,
    ),
  ]);

  writeFileSync(targetsFile, targetsText(['box-a', 'box-b']));
  const reloaded = await changed('TARGETS_FILE', loaded);
  expect((await incident()).targets).toMatchObject([{ target: 'box-b', kind: 'local' }]);

  writeFileSync(
    targetsFile,
    'version: 1\ntargets:\n  - name: box-a\n    kind: local\n    match: { instance: "(" }\n',
  );
  const refused = await changed('TARGETS_FILE', reloaded);
  expect(refused.version).toEqual(reloaded.version);
  expect(refused.refused?.error).toMatch(new RegExp(`${targetsFile}:\\d+:\\d+: targets\\.0\\.match`));
  expect((await incident()).targets).toMatchObject([{ target: 'box-b' }]);
});
