import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { openIncident } from '../../../test/support/incidents.js';
import { checkCleanPaths, cleanOldFiles, isProtected } from '../disk.js';

const DAY = 24 * 3600 * 1000;

function writeAged(path: string, ageDays: number, content = 'x'.repeat(100)): void {
  writeFileSync(path, content);
  const at = new Date(Date.now() - ageDays * DAY);
  utimesSync(path, at, at);
}

describe('path checks', () => {
  let base: string;
  let root: string;
  let outside: string;
  beforeEach(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'hermes-disk-')));
    root = join(base, 'logs');
    outside = join(base, 'precious');
    mkdirSync(join(root, 'app'), { recursive: true });
    mkdirSync(outside);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('knows the protected paths and their children, like the seed', () => {
    for (const p of ['/', '/etc', '/etc/nginx', '/usr', '/usr/lib', '/bin', '/bin/sh'])
      expect(isProtected(p)).toBe(true);
    for (const p of ['/var/log', '/etcetera', '/binaries', '/tmp']) expect(isProtected(p)).toBe(false);
  });

  it('accepts paths under a root and refuses everything else', async () => {
    expect(await checkCleanPaths([join(root, 'app')], [root])).toEqual({
      ok: true,
      paths: [join(root, 'app')],
    });
    expect(await checkCleanPaths([outside], [root])).toMatchObject({
      ok: false,
      reason: expect.stringContaining('outside'),
    });
    expect(await checkCleanPaths(['relative/logs'], [root])).toMatchObject({
      ok: false,
      reason: expect.stringContaining('absolute'),
    });
    expect(await checkCleanPaths([join(root, 'missing')], [root])).toMatchObject({
      ok: false,
      reason: expect.stringContaining('does not exist'),
    });
  });

  it('collapses .. tricks before checking', async () => {
    expect(await checkCleanPaths([`${root}/../precious`], [root])).toMatchObject({
      ok: false,
      reason: expect.stringContaining('outside'),
    });
    expect(await checkCleanPaths([`${root}/app/../../../../etc`], [root])).toMatchObject({
      ok: false,
      reason: expect.stringContaining('is protected'),
    });
    expect(await checkCleanPaths(['/var/log/../../etc'], ['/var/log'])).toMatchObject({
      ok: false,
      reason: expect.stringContaining('is protected'),
    });
  });

  it('refuses a symlink that points outside the roots', async () => {
    symlinkSync(outside, join(root, 'escape'));
    symlinkSync('/etc', join(root, 'etc-link'));
    expect(await checkCleanPaths([join(root, 'escape')], [root])).toMatchObject({
      ok: false,
      reason: expect.stringContaining('outside'),
    });
    expect(await checkCleanPaths([join(root, 'etc-link')], [root])).toMatchObject({
      ok: false,
      reason: expect.stringContaining('is protected'),
    });
  });

  it('refuses protected roots even when configured', async () => {
    expect(await checkCleanPaths(['/etc/nginx'], ['/etc'])).toMatchObject({
      ok: false,
      reason: 'Path /etc/nginx is protected',
    });
    expect(await checkCleanPaths(['/usr/share'], ['/'])).toMatchObject({
      ok: false,
      reason: 'Path /usr/share is protected',
    });
    expect(await checkCleanPaths(['/tmp'], ['/'])).toMatchObject({
      ok: false,
      reason: expect.stringContaining('outside'),
    });
  });

  it('never enters a bind mount under its root: files outside the roots survive', async () => {
    writeAged(join(outside, 'precious.db'), 365);
    writeAged(join(root, 'app', 'old.log'), 30);
    mkdirSync(join(root, 'mounted'), { recursive: true });
    execFileSync('mount', ['--bind', outside, join(root, 'mounted')]);
    try {
      const report = await cleanOldFiles([root], 7, [root]);
      expect(report).toMatchObject({ files: 1, skippedMounts: 1, deleted: [join(root, 'app', 'old.log')] });
      expect(existsSync(join(outside, 'precious.db'))).toBe(true);
    } finally {
      execFileSync('umount', [join(root, 'mounted')]);
    }
  });

  it('deletes only old regular files and never follows or deletes symlinks', async () => {
    writeAged(join(root, 'app', 'old.log'), 30, 'a'.repeat(1000));
    writeAged(join(root, 'app', 'new.log'), 1);
    writeAged(join(outside, 'keep.db'), 365);
    symlinkSync(outside, join(root, 'app', 'dir-link'));
    symlinkSync(join(outside, 'keep.db'), join(root, 'app', 'file-link'));
    const report = await cleanOldFiles([root], 7, [root]);
    expect(report).toMatchObject({
      files: 1,
      bytes: 1000,
      deleted: [join(root, 'app', 'old.log')],
      skippedSymlinks: 2,
    });
    expect(existsSync(join(root, 'app', 'old.log'))).toBe(false);
    expect(existsSync(join(root, 'app', 'new.log'))).toBe(true);
    expect(existsSync(join(outside, 'keep.db'))).toBe(true);
    expect(existsSync(join(root, 'app', 'dir-link'))).toBe(true);
    expect(existsSync(join(root, 'app', 'file-link'))).toBe(true);
  });
});

describe('clean_disk_space through the executor', () => {
  let h: ExecutorHarness;
  beforeEach(async () => {
    h = await startExecutorHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('cleans old files under the root and reports what it freed', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'DiskSpaceLow' });
    mkdirSync(join(h.diskRoot, 'nested'), { recursive: true });
    writeAged(join(h.diskRoot, 'nested', 'a.log'), 10, 'a'.repeat(300));
    writeAged(join(h.diskRoot, 'b.log'), 8, 'b'.repeat(200));
    writeAged(join(h.diskRoot, 'fresh.log'), 0);
    const outcome = await h.submit({
      incidentId,
      tool: 'clean_disk_space',
      args: { host: 'app-server-01', paths: [h.diskRoot] },
    });
    expect(outcome.decision).toBe('executed');
    expect(outcome.result).toMatchObject({ files: 2, bytes: 500 });
    expect(existsSync(join(h.diskRoot, 'fresh.log'))).toBe(true);
  });

  it('refuses symlink escapes and .. tricks before touching anything', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'DiskSpaceLow' });
    const precious = join(h.dir, 'precious');
    mkdirSync(precious);
    mkdirSync(h.diskRoot, { recursive: true });
    writeAged(join(precious, 'data.db'), 100);
    symlinkSync(precious, join(h.diskRoot, 'escape'));
    for (const path of [
      join(h.diskRoot, 'escape'),
      `${h.diskRoot}/../precious`,
      `${h.diskRoot}/escape/../../precious`,
    ]) {
      const outcome = await h.submit({
        incidentId,
        tool: 'clean_disk_space',
        args: { host: 'app-server-01', paths: [path], min_age_days: 7 },
      });
      expect(outcome.decision).toBe('blocked');
      expect(outcome.reason).toContain('outside the allowed roots');
    }
    // Cleaning the root itself skips the link.
    const outcome = await h.submit({
      incidentId,
      tool: 'clean_disk_space',
      args: { host: 'app-server-01', paths: [h.diskRoot] },
    });
    expect(outcome).toMatchObject({ decision: 'executed', result: { files: 0, skippedSymlinks: 1 } });
    expect(existsSync(join(precious, 'data.db'))).toBe(true);
  });
});
