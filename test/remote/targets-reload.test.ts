import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { readConfigVersions } from '../../shared/config-versions.js';
import { type ExecutorHarness, ROOMY_BUDGETS, startExecutorHarness } from '../support/executor-harness.js';
import { openIncident } from '../support/incidents.js';
import { capturingLogger } from '../support/log-capture.js';
import { eventually } from '../support/redis.js';
import { fleetTargets, type SshTestFleet, type SshTestHost, startSshFleet } from '../support/ssh-hosts.js';

// A running executor follows TARGETS_FILE: an edit takes effect for the next action, a broken
// edit is refused (file, line, problem) and the loaded file stays in force.

let fleet: SshTestFleet;
let h: ExecutorHarness;
let configDir: string;
let targetsFile: string;
const log = capturingLogger('executor');

function host(index: number): SshTestHost {
  const found = fleet.hosts[index];
  if (!found) throw new Error('the fleet has fewer than 2 hosts');
  return found;
}

/** Saves as editors do: a new file renamed over the old one (the old inode is gone). */
function saveByRename(text: string): void {
  const temp = join(configDir, '.targets.yaml.swp');
  writeFileSync(temp, text);
  renameSync(temp, targetsFile);
}

/** The executor's published TARGETS_FILE, once it is not `before`. */
async function publishedTargets(before: string | undefined) {
  return eventually(async () => {
    const file = (await readConfigVersions(h.t.redis, h.t.keys)).executor?.TARGETS_FILE;
    return file && (file.version?.sha256 !== before || file.refused) ? file : undefined;
  }, 'the executor to publish a new TARGETS_FILE');
}

/** The shipped policy with roomy change budgets: each restart here is a new incident's, never verified. */
function writePolicy(dir: string): string {
  const path = join(dir, 'policy.yaml');
  const shipped = readFileSync('config/policy.yaml', 'utf8');
  const roomy = shipped.replace(/^budgets:\n(?: {2}.*\n)+/m, `budgets: ${ROOMY_BUDGETS}\n`);
  if (roomy === shipped) throw new Error('config/policy.yaml has no budgets block to widen');
  writeFileSync(path, roomy);
  return path;
}

beforeAll(async () => {
  fleet = await startSshFleet({ hosts: 2 });
  configDir = mkdtempSync(join(tmpdir(), 'hermes-reload-'));
  targetsFile = join(configDir, 'targets.yaml');
  // At first the fleet is host 1 only.
  writeFileSync(targetsFile, stringify({ version: 1, targets: fleetTargets(fleet, [host(0)]) }));
  h = await startExecutorHarness({
    env: { TARGETS_FILE: targetsFile, POLICY_FILE: writePolicy(configDir) },
    logger: log.logger,
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await fleet?.stop();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

const restartOnHost2 = async () => {
  const incidentId = await openIncident(h.t, {
    alertname: 'ServiceDown',
    instance: `${host(1).address}:9100`,
    service: 'api-gateway',
  });
  return h.submit({
    incidentId,
    tool: 'restart_service',
    args: { service: 'api-gateway', host: host(1).address, reason: 'crashed' },
  });
};

describe('TARGETS_FILE edited under a running executor', () => {
  it('an unmatched alert is blocked naming the loaded version; after the edit it acts on the new target', async () => {
    const first = await restartOnHost2();
    expect(first.decision).toBe('blocked');
    const loaded = (await readConfigVersions(h.t.redis, h.t.keys)).executor?.TARGETS_FILE?.version;
    expect(loaded?.file).toBe(targetsFile);
    expect(first.reason).toContain(
      `no target in TARGETS_FILE (loaded ${loaded?.loadedAt.slice(11, 19)}, sha ${loaded?.sha256.slice(0, 8)}…) matches`,
    );

    saveByRename(stringify({ version: 1, targets: fleetTargets(fleet) }));
    const reloaded = await publishedTargets(loaded?.sha256);
    expect(reloaded.refused).toBeUndefined();

    const second = await restartOnHost2();
    expect(second.decision).toBe('executed');
    expect(second.reason).toBe(`ran: restart api-gateway on ${host(1).address} via ssh`);
    expect([host(0).restarts('api-gateway'), host(1).restarts('api-gateway')]).toEqual([0, 1]);
  });

  it('a file that does not validate is refused with file, line and problem; the loaded one stays in force', async () => {
    const inForce = (await readConfigVersions(h.t.redis, h.t.keys)).executor?.TARGETS_FILE?.version;
    const broken = parse(readFileSync(targetsFile, 'utf8'));
    broken.targets[1].kind = 'telnet';
    writeFileSync(targetsFile, stringify(broken));

    const published = await publishedTargets(inForce?.sha256);
    expect(published.version).toEqual(inForce);
    expect(published.refused?.error).toMatch(new RegExp(`${targetsFile}:\\d+:\\d+: targets\\.1\\.kind: `));
    const logged = log.lines.map((line) => JSON.parse(line)).find((line) => line.level === 50);
    expect(logged).toMatchObject({
      msg: 'TARGETS_FILE refused; the loaded version stays in force',
      file: targetsFile,
      err: published.refused?.error,
    });

    const again = await restartOnHost2();
    expect(again.decision).toBe('executed');
    expect(host(1).restarts('api-gateway')).toBe(2);
  });
});
