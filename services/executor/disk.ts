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
  const realRoots = (await Promise.all(roots.map((root) => realpath(root).catch(() => null)))).filter(
    (root): root is string => root !== null && !isProtected(root),
  );
  // A bind mount under a root shows the root's path but holds another tree: its mount point, not
  // its path, gives it away. Read once per clean; the roots themselves may be mount points.
  const cleaner = new Cleaner(now - minAgeDays * 24 * 3600 * 1000, realRoots, await mountPoints());
  for (const path of paths) await cleaner.clean(path);
  return cleaner.report;
}

/** One clean: what it deleted and skipped so far, and how it walks a checked path. */
class Cleaner {
  readonly report: CleanReport = {
    files: 0,
    bytes: 0,
    deleted: [],
    skippedSymlinks: 0,
    skippedMounts: 0,
    errors: [],
  };

  constructor(
    private readonly cutoff: number,
    private readonly realRoots: readonly string[],
    private readonly mounts: ReadonlySet<string>,
  ) {}

  async clean(path: string): Promise<void> {
    const stat = await lstat(path).catch((error: Error) => this.note(path, error));
    if (!stat) return;
    if (stat.isSymbolicLink()) this.report.skippedSymlinks++;
    else if (stat.isDirectory()) await this.walk(path).catch((error: Error) => this.note(path, error));
    else {
      // A single file: pin its parent directory, then treat the file as one of its entries.
      const parent = await this.openDirectory(dirname(path)).catch((error: Error) => this.note(path, error));
      if (!parent) return;
      try {
        await this.consider(parent.dir, parent.real, basename(path)).catch((error: Error) =>
          this.note(path, error),
        );
      } finally {
        await parent.dir.close();
      }
    }
  }

  private note(where: string, error: Error): void {
    if (this.report.errors.length < LISTED) this.report.errors.push(`${where}: ${error.message}`);
  }

  /** Opens a directory without following a symlink and returns it with its verified real location. */
  private async openDirectory(path: string): Promise<{ dir: FileHandle; real: string } | null> {
    const dir = await open(path, DIRECTORY_FLAGS);
    const real = await readlink(`/proc/self/fd/${dir.fd}`).catch(() => null);
    if (real && !isProtected(real) && this.realRoots.some((root) => isWithin(real, root)))
      return { dir, real };
    await dir.close();
    return null;
  }

  /** Considers one entry of an opened directory. */
  private async consider(dir: FileHandle, real: string, name: string): Promise<void> {
    const pinned = `/proc/self/fd/${dir.fd}/${name}`;
    const stat = await lstat(pinned);
    if (stat.isSymbolicLink()) {
      this.report.skippedSymlinks++;
      return;
    }
    if (stat.isDirectory()) {
      if (this.mounts.has(join(real, name))) {
        this.report.skippedMounts++;
        return;
      }
      return this.walk(pinned);
    }
    if (!stat.isFile() || stat.mtimeMs >= this.cutoff) return;
    await unlink(pinned);
    this.report.files++;
    this.report.bytes += stat.size;
    if (this.report.deleted.length < LISTED) this.report.deleted.push(join(real, name));
  }

  private async walk(path: string): Promise<void> {
    const opened = await this.openDirectory(path);
    if (!opened) return;
    try {
      for (const name of await readdir(`/proc/self/fd/${opened.dir.fd}`)) {
        await this.consider(opened.dir, opened.real, name).catch((error: Error) =>
          this.note(join(opened.real, name), error),
        );
      }
    } finally {
      await opened.dir.close();
    }
  }
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
