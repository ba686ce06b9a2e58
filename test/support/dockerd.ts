import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';

/** A private Docker Engine for tests: its own data root, exec root and socket under /tmp. */
export interface TestDockerd {
  socketPath: string;
  docker: Dockerode;
  /** A busybox image imported from /bin/busybox (no registry needed). */
  image: string;
  /** Creates and starts a container (no network); returns its id. */
  run(
    name: string,
    cmd: string[],
    options?: { restart?: 'always' | 'no'; memoryBytes?: number },
  ): Promise<string>;
  /** Removes the containers it made, stops dockerd (SIGTERM, SIGKILL after 10 s), removes the dir. */
  stop(): Promise<void>;
}

export const INSTALL_DOCKERD = 'dockerd not found: install it with `apt-get install -y docker.io`';
const BUSYBOX = '/bin/busybox';
const INSTALL_BUSYBOX = `${BUSYBOX} not found: install it with \`apt-get install -y busybox-static\``;
const IMAGE_REPO = 'hermes-test-busybox';
const IMAGE_TAG = '1';
const APPLETS = ['sh', 'echo', 'sleep', 'cat', 'date', 'head', 'yes'];
const READY_MS = 30_000;
const STOP_GRACE_MS = 10_000;

const run = promisify(execFile);

/** Starts a dockerd of its own and imports the busybox image; fails loudly when it cannot. */
export async function startDockerd(): Promise<TestDockerd> {
  const binary = findDockerd();
  if (!binary) throw new Error(INSTALL_DOCKERD);
  if (!executable(BUSYBOX)) throw new Error(INSTALL_BUSYBOX);

  // Unix socket paths are limited to ~107 bytes: keep the directory short.
  const dir = await mkdtemp('/tmp/hd-');
  const socketPath = join(dir, 'docker.sock');
  const logPath = join(dir, 'dockerd.log');
  const log = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      binary,
      [
        '--data-root',
        join(dir, 'data'),
        '--exec-root',
        join(dir, 'exec'),
        '-H',
        `unix://${socketPath}`,
        '--pidfile',
        join(dir, 'pid'),
        '--bridge=none',
        '--iptables=false',
        '--ip6tables=false',
      ],
      { stdio: ['ignore', log, log] },
    );
  } finally {
    closeSync(log);
  }
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  // If the test process dies without stop(), the daemon still shuts itself (and its containers) down.
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);

  const docker = new Dockerode({ socketPath, host: undefined, protocol: 'http', timeout: 60_000 });
  const containers: string[] = [];
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    if (!exited) {
      await Promise.all(
        containers.map((id) =>
          withTimeout(docker.getContainer(id).remove({ force: true }), 10_000).catch(() => undefined),
        ),
      );
      child.kill('SIGTERM');
      const graceful = await Promise.race([exit.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
      if (!graceful) {
        child.kill('SIGKILL');
        await exit;
        // dockerd's own containerd outlives a killed dockerd.
        await killPidFile(join(dir, 'exec', 'containerd', 'containerd.pid'));
      }
    }
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    await waitForPing(docker, exit, spawnError, () => exited, logPath);
    await importBusybox(docker, dir);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    socketPath,
    docker,
    image: `${IMAGE_REPO}:${IMAGE_TAG}`,
    async run(name, cmd, options = {}) {
      const memory = options.memoryBytes;
      const container = await docker.createContainer({
        name,
        Image: `${IMAGE_REPO}:${IMAGE_TAG}`,
        Cmd: cmd,
        HostConfig: {
          NetworkMode: 'none',
          RestartPolicy: { Name: options.restart ?? 'no' },
          ...(memory ? { Memory: memory, MemorySwap: memory } : {}),
        },
      });
      containers.push(container.id);
      await container.start();
      return container.id;
    },
    stop,
  };
}

function findDockerd(): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/usr/local/bin',
  ];
  return dirs
    .filter(Boolean)
    .map((d) => join(d, 'dockerd'))
    .find(executable);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function waitForPing(
  docker: Dockerode,
  exit: Promise<void>,
  spawnError: Promise<Error>,
  exited: () => { code: number | null; signal: NodeJS.Signals | null } | undefined,
  logPath: string,
): Promise<void> {
  const deadline = Date.now() + READY_MS;
  let last = 'no answer yet';
  const failed = Promise.race([
    exit.then(() => {
      const how = exited();
      return `dockerd exited (code ${how?.code}, signal ${how?.signal})`;
    }),
    spawnError.then((error) => `dockerd did not start: ${error.message}`),
  ]);
  let failure: string | undefined;
  void failed.then((why) => {
    failure = why;
  });
  while (Date.now() < deadline) {
    if (failure) throw new Error(`${failure}\n${logTail(logPath)}`);
    try {
      await withTimeout(docker.ping(), 2_000);
      return;
    } catch (error) {
      last = (error as Error).message;
    }
    await Promise.race([sleep(200), failed]);
  }
  if (failure) throw new Error(`${failure}\n${logTail(logPath)}`);
  throw new Error(`dockerd did not answer /_ping within ${READY_MS} ms (${last})\n${logTail(logPath)}`);
}

function logTail(path: string, lines = 30): string {
  try {
    const text = readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    return `--- last lines of ${path} ---\n${text}`;
  } catch {
    return `(no log at ${path})`;
  }
}

/** A rootfs of busybox and a few applet links, tarred and posted to the Engine's image import. */
async function importBusybox(docker: Dockerode, dir: string): Promise<void> {
  const rootfs = join(dir, 'rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await copyFile(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  for (const applet of APPLETS) await symlink('busybox', join(rootfs, 'bin', applet));
  const { stdout: tar } = await run('tar', ['-C', rootfs, '-cf', '-', '.'], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  const stream = await docker.importImage(tar as unknown as NodeJS.ReadableStream, {
    repo: IMAGE_REPO,
    tag: IMAGE_TAG,
  });
  const progress = await new Promise<{ error?: string; errorDetail?: { message?: string } }[]>(
    (resolve, reject) =>
      docker.modem.followProgress(stream, (error, output) => (error ? reject(error) : resolve(output))),
  );
  const failure = progress.find((event) => event.error || event.errorDetail);
  if (failure) throw new Error(`image import failed: ${failure.error ?? failure.errorDetail?.message}`);
  await docker.getImage(`${IMAGE_REPO}:${IMAGE_TAG}`).inspect();
}

async function killPidFile(path: string): Promise<void> {
  const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Whatever the daemon left mounted under its directory (after a hard kill), innermost first. */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mounts', 'utf8').catch(() => ''))
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((mount): mount is string => mount !== undefined && (mount === dir || mount.startsWith(`${dir}/`)))
    .reverse();
  for (const mount of mounts) await run('umount', ['-l', mount]).catch(() => undefined);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
