import {
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Backend, createBackend } from '../../services/executor/backends.js';
import { parsePolicy } from '../../services/executor/policy.js';
import { tempDir } from './processes.js';

const OLD = (Date.now() - 30 * 24 * 3600 * 1000) / 1000;
const RACE_ROUNDS = 1_500;
const RACE_BUDGET_MS = 15_000;

function oldFile(path: string): void {
  writeFileSync(path, 'x'.repeat(64));
  utimesSync(path, OLD, OLD);
}

/** The executor's real clean_disk_space backend, confined to `root`. */
function diskBackend(root: string): Backend {
  const policy = parsePolicy(
    `version: 1
limits: { stateChangesPerHour: 30 }
breaker: { failureThreshold: 3, windowSeconds: 900, cooldownSeconds: 600 }
tools:
  clean_disk_space:
    tier: safe
    args: { host: { type: name }, paths: { type: paths }, min_age_days: { type: integer, min: 7, default: 7 } }
    backend: { kind: disk, roots: [${root}] }
`,
  );
  const backend = policy.tools.clean_disk_space?.backend;
  if (!backend) throw new Error('no backend');
  return createBackend(backend, policy);
}

describe('disk cleaning path attacks: nothing outside the allowed root is ever deleted', () => {
  let base: string;
  let root: string;
  let outside: string;
  let backend: Backend;
  const victims = () => readdirSync(outside).sort();

  beforeEach(() => {
    base = tempDir('disk');
    root = join(base, 'logs');
    outside = join(base, 'precious');
    mkdirSync(root);
    mkdirSync(outside);
    for (const name of ['db.sqlite', 'passwd', 'keep.log']) oldFile(join(outside, name));
    backend = diskBackend(root);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  const attempt = async (paths: string[]) => {
    const args = { host: 'h1', paths, min_age_days: 7 };
    const refused = await backend.precheck(args);
    if (refused) return { refused };
    return { result: await backend.run(args) };
  };

  it('refuses `..` escapes, protected paths and relative paths', async () => {
    for (const path of [
      `${root}/../precious`,
      `${root}/../precious/passwd`,
      `${root}/./../../${base.split('/').pop()}/precious`,
      '/etc',
      '/etc/../etc/passwd',
      '/',
      '/usr/lib',
      'logs',
      `${root}\0/x`,
    ]) {
      const outcome = await attempt([path]);
      expect(outcome.refused, path).toBeTruthy();
    }
    expect(victims()).toEqual(['db.sqlite', 'keep.log', 'passwd']);
  });

  it('never follows a symlink: to a directory, to a file, or a root alias pointing outside', async () => {
    symlinkSync(outside, join(root, 'link-dir'));
    symlinkSync(join(outside, 'passwd'), join(root, 'link-file'));
    mkdirSync(join(root, 'app'));
    symlinkSync(outside, join(root, 'app', 'nested-link'));
    oldFile(join(root, 'app', 'old.log'));
    // A bind-mount-like alias: a second name for the outside directory, placed next to the root.
    const alias = join(base, 'alias');
    symlinkSync(outside, alias);

    expect((await attempt([join(root, 'link-dir')])).refused).toMatch(/outside the allowed roots/);
    expect((await attempt([join(root, 'link-file')])).refused).toMatch(/outside the allowed roots/);
    expect((await attempt([alias])).refused).toMatch(/outside the allowed roots/);
    const whole = await attempt([root]);
    expect(whole.result?.ok).toBe(true);
    expect(victims()).toEqual(['db.sqlite', 'keep.log', 'passwd']);
    expect(existsSync(join(root, 'app', 'old.log'))).toBe(false);
  });

  it('a hard link inside the root to an outside file only loses its own name', async () => {
    linkSync(join(outside, 'keep.log'), join(root, 'hard.log'));
    utimesSync(join(outside, 'keep.log'), OLD, OLD);
    await attempt([root]);
    expect(victims()).toEqual(['db.sqlite', 'keep.log', 'passwd']);
  });

  /**
   * A directory swapped for a symlink between the check and the deletes: cleanOldFiles pins each
   * directory by descriptor, so the swap cannot redirect a delete outside the root. (Before it did,
   * this reproduced within a few hundred rounds.)
   */
  it(`races: a directory swapped for a symlink between check and delete (up to ${RACE_ROUNDS} rounds)`, async () => {
    const deadline = Date.now() + RACE_BUDGET_MS;
    let rounds = 0;
    for (let round = 0; round < RACE_ROUNDS && Date.now() < deadline; round++) {
      const dir = join(root, `r${round}`);
      mkdirSync(dir);
      for (let i = 0; i < 5; i++) oldFile(join(dir, `f${i}.log`));
      const args = { host: 'h1', paths: [dir], min_age_days: 7 };
      expect(await backend.precheck(args)).toBeNull();
      const running = backend.run(args);
      // Swap at a varying moment: before, during or after the walk.
      await new Promise((r) => setImmediate(r));
      if (round % 3 !== 0) await new Promise((r) => setTimeout(r, round % 5));
      renameSync(dir, `${dir}.moved`);
      symlinkSync(outside, dir);
      await running.catch(() => undefined);
      rounds++;
      if (victims().length < 3) break;
    }
    console.log(
      `[reliability] disk: ${rounds} check/delete races, outside files left: ${victims().join(', ')}`,
    );
    expect(victims()).toEqual(['db.sqlite', 'keep.log', 'passwd']);
  });
});
