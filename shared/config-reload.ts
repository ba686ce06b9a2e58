import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, realpathSync, watch } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { Logger } from './logger.js';
import { ConfigFileError } from './yaml-config.js';

export const configVersionSchema = z.object({
  file: z.string(),
  sha256: z.string(),
  loadedAt: z.string(),
});
/** Which content of a config file a service runs: its path, the sha256 of its text, when it was read. */
export type ConfigVersion = z.infer<typeof configVersionSchema>;

export const configRefusalSchema = z.object({ at: z.string(), sha256: z.string(), error: z.string() });
/** A newer text of the file that did not validate; the loaded version stays in force. */
export type ConfigRefusal = z.infer<typeof configRefusalSchema>;

/** Anything a reader takes the value in force from, at the moment it needs it. */
export interface Current<T> {
  readonly current: T;
}

export interface WatchedConfig<T> extends Current<T> {
  /** Undefined only while no text of the file has validated (see `withoutFile`). */
  readonly version: ConfigVersion | undefined;
  /** The newest text refused since the version in force was loaded (sha256 empty: unreadable at start). */
  readonly refused: ConfigRefusal | undefined;
  /** Reads the file again now (SIGHUP does this for every watched file). */
  reload(): void;
  /** Called after every reload that loaded or refused a new text. */
  onReload(listener: () => void): void;
  close(): void;
}

/** Parses a file's text; throws an error naming the file, line and problem when it does not validate. */
export type ConfigParser<T> = (text: string, path: string, version: ConfigVersion) => T;

export interface WatchOptions<T> {
  logger: Logger;
  /** The file's role in log lines, e.g. `TARGETS_FILE`. */
  what: string;
  /** Called with each newly loaded value, before readers see it. */
  onChange?: (value: T) => void;
  /** The value while no text validates; without it a first load that fails throws. */
  withoutFile?: (error: Error) => T;
  /** What a first load that cannot read the file throws (the parser's own class, for `main` to recognise). */
  ErrorClass?: new (
    message: string,
  ) => Error;
  debounceMs?: number;
}

/** `loaded 12:03:10, sha 3f2a9c1b…`: how an error that depends on the file says which one it read. */
export function describeVersion(version: ConfigVersion): string {
  return `loaded ${version.loadedAt.slice(11, 19)}, sha ${version.sha256.slice(0, 8)}…`;
}

/** Reads the file once and parses it; the version is of exactly the text parsed. */
export function readConfig<T>(
  path: string,
  parse: ConfigParser<T>,
  ErrorClass: new (message: string) => Error = ConfigFileError,
): { value: T; version: ConfigVersion } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ErrorClass(`${path}: cannot read: ${(error as Error).message}`);
  }
  const version = {
    file: path,
    sha256: createHash('sha256').update(text).digest('hex'),
    loadedAt: new Date().toISOString(),
  };
  return { value: parse(text, path, version), version };
}

/**
 * Loads `path` and re-reads it on SIGHUP and whenever its directory changes (debounced). Directories
 * are watched, not the file: editors that save by rename and Kubernetes ConfigMaps (a `..data`
 * symlink swapped) replace the file, which a watch on the file itself would stop seeing. A text
 * that does not validate is logged at error and the loaded value stays in force.
 */
export function watchConfig<T>(
  path: string,
  parse: ConfigParser<T>,
  options: WatchOptions<T>,
): WatchedConfig<T> {
  const { logger, what } = options;
  let current: T;
  let version: ConfigVersion | undefined;
  let refused: ConfigRefusal | undefined;
  try {
    ({ value: current, version } = readConfig(path, parse, options.ErrorClass));
  } catch (error) {
    if (!options.withoutFile) throw error;
    current = options.withoutFile(error as Error);
    refused = { at: new Date().toISOString(), sha256: '', error: (error as Error).message };
  }
  const listeners: (() => void)[] = [];
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;

  const reload = () => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      // Between an editor's unlink and rename, or a ConfigMap's swap: the next event reads it.
      logger.warn({ file: path, err: (error as Error).message }, `${what} not readable; loaded version kept`);
      return;
    }
    const sha256 = createHash('sha256').update(text).digest('hex');
    if (sha256 === refused?.sha256) return;
    if (sha256 === version?.sha256) {
      // Put back as it was: nothing to load, and no newer text is refused any more.
      if (refused) {
        refused = undefined;
        for (const listener of listeners) listener();
      }
      return;
    }
    const next = { file: path, sha256, loadedAt: new Date().toISOString() };
    try {
      const value = parse(text, path, next);
      options.onChange?.(value);
      current = value;
      version = next;
      refused = undefined;
      logger.info({ file: path, sha256: sha256.slice(0, 12) }, `${what} reloaded`);
    } catch (error) {
      refused = { at: next.loadedAt, sha256, error: (error as Error).message };
      logger.error(
        { file: path, err: refused.error, inForce: version?.sha256.slice(0, 12) ?? null },
        `${what} refused; the loaded version stays in force`,
      );
    }
    rewatch();
    for (const listener of listeners) listener();
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, options.debounceMs ?? 200);
  };
  // The link's directory and, when the path is a symlink, its target's: either may be replaced.
  const rewatch = () => {
    const dirs = new Set([dirname(path)]);
    try {
      dirs.add(dirname(realpathSync(path)));
    } catch {}
    for (const [dir, watcher] of watchers)
      if (!dirs.has(dir)) {
        watcher.close();
        watchers.delete(dir);
      }
    for (const dir of dirs) {
      if (watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, schedule);
        watcher.on('error', (error) => logger.warn({ dir, err: error.message }, `${what}: watch failed`));
        watchers.set(dir, watcher);
      } catch (error) {
        logger.warn({ dir, err: (error as Error).message }, `${what}: cannot watch; SIGHUP still reloads`);
      }
    }
  };
  rewatch();
  hangups.add(reload);
  if (hangups.size === 1) process.on('SIGHUP', onHangup);

  return {
    get current() {
      return current;
    },
    get version() {
      return version;
    },
    get refused() {
      return refused;
    },
    reload,
    onReload: (listener) => listeners.push(listener),
    close() {
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
      hangups.delete(reload);
      if (hangups.size === 0) process.off('SIGHUP', onHangup);
    },
  };
}

// One process listener for every watched file: SIGHUP re-reads them all.
const hangups = new Set<() => void>();
function onHangup(): void {
  for (const reload of hangups) reload();
}
