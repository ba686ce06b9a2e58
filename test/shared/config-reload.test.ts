import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type WatchedConfig, watchConfig } from '../../shared/config-reload.js';
import { parseTargetsVersion, type Targets, TargetsError } from '../../shared/targets/targets.js';
import { capturingLogger } from '../support/log-capture.js';
import { eventually } from '../support/redis.js';

const targetsText = (...instances: string[]) =>
  `version: 1\ntargets:\n${instances.map((instance) => `  - name: ${instance}\n    kind: local\n    match: { instance: ${instance} }\n`).join('')}`;

let dir: string;
const open: WatchedConfig<unknown>[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hermes-config-reload-'));
});
afterEach(() => {
  for (const config of open.splice(0)) config.close();
  rmSync(dir, { recursive: true, force: true });
});

function watchTargets(path: string, extra: { withoutFile?: (error: Error) => Targets } = {}) {
  const log = capturingLogger('test');
  const seen: Targets[] = [];
  const config = watchConfig(path, parseTargetsVersion, {
    logger: log.logger,
    what: 'TARGETS_FILE',
    ErrorClass: TargetsError,
    onChange: (targets) => seen.push(targets),
    debounceMs: 20,
    ...extra,
  });
  open.push(config);
  return { config, seen, log };
}

const names = (targets: Targets) => targets.list.map((target) => target.name);

describe('watchConfig', () => {
  it('follows a Kubernetes ConfigMap mount: the ..data symlink swapped to a new directory', async () => {
    // The kubelet's layout: targets.yaml -> ..data/targets.yaml, ..data -> ..<timestamp>/
    mkdirSync(join(dir, '..2026_01'));
    writeFileSync(join(dir, '..2026_01', 'targets.yaml'), targetsText('box-a'));
    symlinkSync('..2026_01', join(dir, '..data'));
    symlinkSync('..data/targets.yaml', join(dir, 'targets.yaml'));
    const { config, seen } = watchTargets(join(dir, 'targets.yaml'));
    expect(names(config.current)).toEqual(['box-a']);
    const first = config.version;

    mkdirSync(join(dir, '..2026_02'));
    writeFileSync(join(dir, '..2026_02', 'targets.yaml'), targetsText('box-a', 'box-b'));
    symlinkSync('..2026_02', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..2026_01'), { recursive: true });

    await eventually(async () => config.version?.sha256 !== first?.sha256, 'the swapped ConfigMap to load');
    expect(names(config.current)).toEqual(['box-a', 'box-b']);
    expect(seen.map(names)).toEqual([['box-a', 'box-b']]);
    expect(config.version?.file).toBe(join(dir, 'targets.yaml'));
  });

  it('keeps the loaded value when a new text does not validate, and names file, line and problem', async () => {
    const path = join(dir, 'targets.yaml');
    writeFileSync(path, targetsText('box-a'));
    const { config, seen, log } = watchTargets(path);
    const loaded = config.version;

    writeFileSync(path, `${targetsText('box-a')}  - name: box-b\n    kind: telnet\n`);
    const refused = await eventually(async () => config.refused, 'the broken text to be refused');
    expect(refused.error).toMatch(new RegExp(`^invalid targets: ${path}:7:11: targets\\.1\\.kind: `));
    expect(config.version).toEqual(loaded);
    expect(names(config.current)).toEqual(['box-a']);
    expect(seen).toEqual([]);
    expect(log.lines.map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({ level: 50, file: path, err: refused.error }),
    );
    // The error an alert meets names the version still in force.
    expect(config.current.place({ instance: 'box-b' })).toEqual({
      ok: false,
      reason: `no target in TARGETS_FILE (loaded ${loaded?.loadedAt.slice(11, 19)}, sha ${loaded?.sha256.slice(0, 8)}…) matches instance="box-b"`,
    });

    writeFileSync(path, targetsText('box-a'));
    await eventually(async () => config.refused === undefined, 'the text in force put back');
    expect(config.version).toEqual(loaded);

    writeFileSync(path, targetsText('box-a', 'box-b'));
    await eventually(async () => config.version !== loaded, 'the fixed text');
    expect(config.current.place({ instance: 'box-b' })).toMatchObject({ ok: true });
  });

  it('starts without a usable file when told to, and loads the first text that validates', async () => {
    const path = join(dir, 'targets.yaml');
    const unusable = new TargetsError('none yet');
    const { config } = watchTargets(path, { withoutFile: () => unusable as unknown as Targets });
    expect(config.current).toBe(unusable);
    expect(config.version).toBeUndefined();
    expect(config.refused?.error).toBe(
      `${path}: cannot read: ENOENT: no such file or directory, open '${path}'`,
    );

    writeFileSync(path, targetsText('box-a'));
    await eventually(async () => config.version, 'the new file to load');
    expect(names(config.current)).toEqual(['box-a']);
    expect(config.refused).toBeUndefined();
  });

  it('a first load that fails throws the parser’s error class with the file', () => {
    const path = join(dir, 'missing.yaml');
    expect(() => watchTargets(path)).toThrow(TargetsError);
    expect(() => watchTargets(path)).toThrow(`${path}: cannot read: ENOENT`);
  });
});
