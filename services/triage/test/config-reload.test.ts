import { renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readConfigVersions } from '../../../shared/config-versions.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { openIncident } from '../../../test/support/incidents.js';
import { eventually } from '../../../test/support/redis.js';
import { startTestTriage, toolCalls, waitForStatus, writeFile } from './harness.js';

// A running triage and executor follow TARGETS_FILE and RUNBOOKS_FILE: an edit is in force for the
// next incident, with no restart.

const restart = (alert: string) => ({
  tool: 'restart_service',
  args: { service: '{{service}}', host: '{{host}}', reason: `runbook ${alert}` },
});
const runbooksText = (alertnames: string[]) =>
  stringify({
    runbooks: Object.fromEntries(alertnames.map((name) => [name, { steps: [restart(name)] }])),
    default: { steps: [{ tool: 'request_human_confirmation', args: { reason: 'no runbook' } }] },
  });
const targetsText = (instances: string[]) =>
  stringify({
    version: 1,
    targets: instances.map((instance) => ({ name: instance, kind: 'local', match: { instance } })),
  });

let h: ExecutorHarness;
let triage: { close(): Promise<void> };
let targetsFile: string;
let runbooksFile: string;

/** Saves as editors do: a new file renamed over the old one. */
function save(path: string, text: string): void {
  const temp = join(dirname(path), `.${Date.now()}.swp`);
  writeFileSync(temp, text);
  renameSync(temp, path);
}

/** Until triage and the executor both publish the current text of TARGETS_FILE (and triage of RUNBOOKS_FILE). */
async function bothLoaded(before: { targets?: string; runbooks?: string }) {
  await eventually(async () => {
    const { triage: ours, executor } = await readConfigVersions(h.t.redis, h.t.keys);
    const targets = [ours?.TARGETS_FILE?.version?.sha256, executor?.TARGETS_FILE?.version?.sha256];
    const runbooks = ours?.RUNBOOKS_FILE?.version?.sha256;
    return (
      targets[0] === targets[1] &&
      (before.targets === undefined || targets[0] !== before.targets) &&
      (before.runbooks === undefined || runbooks !== before.runbooks)
    );
  }, 'triage and the executor to load the edited files');
}

async function versions() {
  const { triage: ours } = await readConfigVersions(h.t.redis, h.t.keys);
  return { targets: ours?.TARGETS_FILE?.version?.sha256, runbooks: ours?.RUNBOOKS_FILE?.version?.sha256 };
}

beforeAll(async () => {
  targetsFile = writeFile('targets.yaml', targetsText(['box-a']));
  runbooksFile = writeFile('runbooks.yaml', runbooksText(['ServiceDown']));
  h = await startExecutorHarness({ env: { TARGETS_FILE: targetsFile } });
  triage = await startTestTriage(h.t, {
    PLANNER: 'runbook',
    TARGETS_FILE: targetsFile,
    RUNBOOKS_FILE: runbooksFile,
  });
}, 30_000);
afterAll(async () => {
  await triage?.close();
  await h?.close();
});

describe('config edited under running triage and executor', () => {
  it('an alert no target matched is acted on after TARGETS_FILE names its host', async () => {
    const before = await h.t.redis.get(h.t.keys.configVersion('triage'));
    expect(before).not.toBeNull();
    const unmatched = await openIncident(h.t, {
      alertname: 'ServiceDown',
      instance: 'box-b',
      service: 'web',
    });
    const refused = await waitForStatus(h.t, unmatched, ['escalated', 'failed']);
    expect(
      toolCalls(refused)
        .map((call) => call.output)
        .join('\n'),
    ).toMatch(/no target in TARGETS_FILE \(loaded \d\d:\d\d:\d\d, sha [0-9a-f]{8}…\) matches alertname=/);
    expect(h.runs()).toEqual([]);

    const loaded = await versions();
    save(targetsFile, targetsText(['box-a', 'box-b']));
    await bothLoaded({ targets: loaded.targets });

    const matched = await openIncident(h.t, { alertname: 'ServiceDown', instance: 'box-b', service: 'web' });
    await waitForStatus(h.t, matched, ['resolved', 'escalated']);
    expect(h.runs()).toEqual(['restart web']);
  });

  it('an alertname without a runbook gets the one RUNBOOKS_FILE gains', async () => {
    const loaded = await versions();
    save(runbooksFile, runbooksText(['ServiceDown', 'CacheStale']));
    await bothLoaded({ runbooks: loaded.runbooks });

    const id = await openIncident(h.t, {
      alertname: 'CacheStale',
      instance: 'box-a',
      service: 'cache',
      level: 1,
    });
    const incident = await waitForStatus(h.t, id, ['resolved', 'escalated']);
    expect(toolCalls(incident).map((call) => call.tool)).toEqual(['restart_service']);
    expect(h.runs()).toEqual(['restart web', 'restart cache']);
  });
});
