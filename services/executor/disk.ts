import { lstat, readdir, realpath, unlink } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';

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
  errors: string[];
}

const LISTED = 100;

/**
 * Deletes regular files older than `minAgeDays` under already-checked real paths. Symlinks are never
 * followed nor deleted; a directory whose real path moved outside `roots` mid-walk is skipped.
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
  const report: CleanReport = { files: 0, bytes: 0, deleted: [], skippedSymlinks: 0, errors: [] };

  const consider = async (path: string): Promise<void> => {
    const stat = await lstat(path);
    if (stat.isSymbolicLink()) {
      report.skippedSymlinks++;
      return;
    }
    if (stat.isDirectory()) return walk(path);
    if (!stat.isFile() || stat.mtimeMs >= cutoff) return;
    await unlink(path);
    report.files++;
    report.bytes += stat.size;
    if (report.deleted.length < LISTED) report.deleted.push(path);
  };

  const walk = async (dir: string): Promise<void> => {
    const real = await realpath(dir);
    if (real !== dir || isProtected(real) || !realRoots.some((root) => isWithin(real, root))) return;
    for (const name of await readdir(dir)) {
      await consider(join(dir, name)).catch((error: Error) => {
        if (report.errors.length < LISTED) report.errors.push(`${join(dir, name)}: ${error.message}`);
      });
    }
  };

  for (const path of paths) {
    await consider(path).catch((error: Error) => {
      report.errors.push(`${path}: ${error.message}`);
    });
  }
  return report;
}
