import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pingUntilReady } from '../../shared/redis.js';
import { collectOutput } from './output.js';

export const INSTALL_HINT =
  'No Redis for the tests: set REDIS_URL, start a container runtime for Testcontainers, ' +
  'or install redis-server (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis).';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export function redisServerBinary(): string | null {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return 'redis-server';
  } catch {
    return null;
  }
}

export interface LocalRedis {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  /** Stops the server; `keepDir` leaves its data dir for a restart on the same dir and port. */
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

/** Starts a throwaway redis-server on a free loopback port in a temp dir. Extra args go last. */
export async function startRedisServer(
  extraArgs: string[] = [],
  options: { dir?: string; port?: number } = {},
): Promise<LocalRedis> {
  if (!redisServerBinary()) throw new Error(INSTALL_HINT);
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'hermes-redis-'));
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = collectOutput(child);
  const url = `redis://127.0.0.1:${port}`;
  await waitForPing(url, () => child.exitCode !== null, output);
  const ownsDir = !options.dir;
  return {
    url,
    port,
    dir,
    process: child,
    async stop(stopOptions = {}) {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (ownsDir && !stopOptions.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPing(url: string, died: () => boolean, output: () => string): Promise<void> {
  if (await pingUntilReady(url, 10_000, died)) return;
  throw new Error(`redis-server ${died() ? 'exited' : `did not answer on ${url}`}: ${output()}`);
}
