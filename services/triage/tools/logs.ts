import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvError } from '../../../shared/env.js';
import { type LogLevel, levelAtLeast } from '../../../shared/log-levels.js';

export type { LogLevel };

/** Where service logs come from. Files today; Loki or Kubernetes can implement the same shape. */
export interface LogSource {
  tail(service: string, options: { lines: number; level: LogLevel }): Promise<string[]>;
}

const TAIL_BYTES = 1024 * 1024;
/** `service=/path,other=/path` → map. */
export function parseLogSources(spec: string | undefined): Map<string, string> {
  const map = new Map<string, string>();
  if (!spec) return map;
  for (const pair of spec.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new EnvError(`LOG_SOURCES entry "${pair}" is not service=path`);
    map.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
  }
  return map;
}

/** One file per service: explicit paths first, else `<dir>/<service>.log`. */
export class FileLogSource implements LogSource {
  constructor(
    private readonly files: Map<string, string>,
    private readonly dir: string | undefined,
  ) {}

  async tail(service: string, options: { lines: number; level: LogLevel }): Promise<string[]> {
    const path = this.files.get(service) ?? (this.dir ? join(this.dir, `${service}.log`) : undefined);
    if (!path) throw new Error(`no log source configured for service ${service}`);
    const lines = await readTail(path);
    return lines.filter((line) => levelAtLeast(line, options.level)).slice(-options.lines);
  }
}

async function readTail(path: string): Promise<string[]> {
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      error.code === 'ENOENT' ? `no log file for this service` : `cannot read logs: ${error.code}`,
    );
  });
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    if (size > length) lines.shift(); // first line is probably cut
    return lines.filter((line) => line.trim() !== '');
  } finally {
    await handle.close();
  }
}
