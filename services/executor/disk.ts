import { constants } from 'node:fs';
import {
  type FileHandle,
  lstat,
  open,
  readdir,
  readFile,
  readlink,
  realpath,
  unlink,
} from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';

/** Never cleaned, even when a policy lists them as roots (the seed's list). */
export const PROTECTED_PATHS = ['/', '/etc', '/usr', '/bin'];

export function isProtected(path: string): boolean {
  return PROTECTED_PATHS.some((p) => path === p || path.startsWith(`${p}/`));
}

function isWithin(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

export type PathCheck = { ok: true; paths: string[] } | { ok: false; reason: string };

/**
 * Resolves each requested path (`..` collapsed, symlinks resolved) and accepts it only when both the
 * requested and the real path are unprotected and the real path lies under a real, unprotected root.
 */
export async function checkCleanPaths(
  requested: readonly string[],
  roots: readonly string[],
): Promise<PathCheck> {
  const realRoots: string[] = [];
  for (const root of roots) {
    if (isProtected(resolve(root))) continue;
    const real = await realpath(root).catch(() => null);
    if (real && !isProtected(real)) realRoots.push(real);
  }
  const accepted: string[] = [];
  for (const path of requested) {
    if (!isAbsolute(path) || path.includes('\0'))
      return { ok: false, reason: `Path ${path} must be absolute` };
    const normalised = resolve(path);
    if (isProtected(path) || isProtected(normalised))
      return { ok: false, reason: `Path ${path} is protected` };
    const real = await realpath(normalised).catch(() => null);
    if (!real) return { ok: false, reason: `Path ${path} does not exist` };
    if (isProtected(real)) return { ok: false, reason: `Path ${path} is protected` };
    if (!realRoots.some((root) => isWithin(real, root)))
      return { ok: false, reason: `Path ${path} is outside the allowed roots (${roots.join(', ')})` };
    accepted.push(real);
  }
  return { ok: true, paths: accepted };
}

export interface CleanReport {
  files: number;
  bytes: number;
  /** The first deleted files, for the audit trail. */
  deleted: string[];
  skippedSymlinks: number;
  /** Directories that are mount points (another filesystem, or a bind mount): never entered. */
  skippedMounts: number;
  errors: string[];
}

const LISTED = 100;
const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * Deletes regular files older than `minAgeDays` under already-checked real paths. Symlinks are never
 * followed nor deleted.
 *
 * Every directory is opened (O_NOFOLLOW) and then only addressed through its descriptor, as
 * `/proc/self/fd/<fd>/<name>`: the kernel resolves that through the directory actually opened, so a
 * directory renamed or swapped for a symlink after the check cannot redirect a delete outside the
 * roots. Each opened directory's real location is re-checked against the roots before use.
 */
export async function cleanOldFiles(
  paths: readonly string[],
  minAgeDays: number,
  roots: readonly string[],
  now = Date.now(),
): Promise<CleanReport> {
  const cutoff = now - minAgeDays * 24 * 3600 * 1000;
  const realRoots = (await Promise.all(roots.map((root) => realpath(root).catch(() => null)))).filter(
    (root): root is string => root !== null && !isProtected(root),
  );
  const report: CleanReport = {
    files: 0,
    bytes: 0,
    deleted: [],
    skippedSymlinks: 0,
    skippedMounts: 0,
    errors: [],
  };
  // A bind mount under a root shows the root's path but holds another tree: its mount point, not
  // its path, gives it away. Read once per clean; the roots themselves may be mount points.
  const mounts = await mountPoints();
  const note = (where: string, error: Error) => {
    if (report.errors.length < LISTED) report.errors.push(`${where}: ${error.message}`);
  };

  /** Opens a directory without following a symlink and returns it with its verified real location. */
  const openDirectory = async (path: string): Promise<{ dir: FileHandle; real: string } | null> => {
    const dir = await open(path, DIRECTORY_FLAGS);
    const real = await readlink(`/proc/self/fd/${dir.fd}`).catch(() => null);
    if (real && !isProtected(real) && realRoots.some((root) => isWithin(real, root))) return { dir, real };
    await dir.close();
    return null;
  };

  /** Considers one entry of an opened directory. */
  const consider = async (dir: FileHandle, real: string, name: string): Promise<void> => {
    const pinned = `/proc/self/fd/${dir.fd}/${name}`;
    const stat = await lstat(pinned);
    if (stat.isSymbolicLink()) {
      report.skippedSymlinks++;
      return;
    }
    if (stat.isDirectory()) {
      if (mounts.has(join(real, name))) {
        report.skippedMounts++;
        return;
      }
      return walk(pinned);
    }
    if (!stat.isFile() || stat.mtimeMs >= cutoff) return;
    await unlink(pinned);
    report.files++;
    report.bytes += stat.size;
    if (report.deleted.length < LISTED) report.deleted.push(join(real, name));
  };

  const walk = async (path: string): Promise<void> => {
    const opened = await openDirectory(path);
    if (!opened) return;
    try {
      for (const name of await readdir(`/proc/self/fd/${opened.dir.fd}`)) {
        await consider(opened.dir, opened.real, name).catch((error: Error) =>
          note(join(opened.real, name), error),
        );
      }
    } finally {
      await opened.dir.close();
    }
  };

  for (const path of paths) {
    const stat = await lstat(path).catch((error: Error) => note(path, error));
    if (!stat) continue;
    if (stat.isSymbolicLink()) report.skippedSymlinks++;
    else if (stat.isDirectory()) await walk(path).catch((error: Error) => note(path, error));
    else {
      // A single file: pin its parent directory, then treat the file as one of its entries.
      const parent = await openDirectory(dirname(path)).catch((error: Error) => note(path, error));
      if (!parent) continue;
      try {
        await consider(parent.dir, parent.real, basename(path)).catch((error: Error) => note(path, error));
      } finally {
        await parent.dir.close();
      }
    }
  }
  return report;
}

/** Mount points of this process' mount namespace (`/proc/self/mountinfo`, field 5, octal escapes undone). */
async function mountPoints(): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const points = new Set<string>();
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field)
      points.add(
        field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))),
      );
  }
  return points;
}
