import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ContainerState, DockerTarget, DockerTargetError } from '../../shared/remote/docker.js';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';

const MiB = 1024 * 1024;

/** Polls `read` until `done` holds, at most `ms`; returns the last value either way. */
async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

/** A unix socket that accepts connections, counts them and never answers. */
let silentSockets = 0;
async function silentSocket(
  dir: string,
): Promise<{ path: string; connections: () => number; close(): void }> {
  const path = join(dir, `silent-${++silentSockets}.sock`);
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    connections: () => sockets.length,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe('DockerTarget against a real dockerd', () => {
  let dockerd: TestDockerd;
  let target: DockerTarget;
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync('/tmp/hdt-');
    dockerd = await startDockerd();
    target = new DockerTarget({ socketPath: dockerd.socketPath });
    await Promise.all([
      dockerd.run('crashy', ['sh', '-c', 'echo "INFO starting"; echo "ERROR boom" >&2; sleep 1; exit 3'], {
        restart: 'always',
      }),
      // Traps TERM so a restart does not wait out the stop timeout (sh as PID 1 ignores it otherwise).
      dockerd.run('steady', [
        'sh',
        '-c',
        'trap "exit 0" TERM; echo "INFO up"; echo "WARN slow"; while true; do sleep 1 & wait $!; done',
      ]),
      dockerd.run('hog', ['sh', '-c', 'x=a; while true; do x="$x$x"; done'], { memoryBytes: 8 * MiB }),
    ]);
  }, 60_000);

  afterAll(async () => {
    target?.close();
    await dockerd?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  it('sees a crash loop: restarts counted, the last exit code, error lines without info lines', async () => {
    const state = await poll(
      () => target.state('crashy'),
      (s) => s.restartCount > 0 && s.exitCode === 3,
    );
    expect(state).toMatchObject({ name: 'crashy', image: dockerd.image, exitCode: 3, oomKilled: false });
    expect(state.restartCount).toBeGreaterThan(0);

    const errors = await target.logs('crashy', { lines: 50, level: 'error' });
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((line) => line === 'ERROR boom')).toBe(true); // stderr, demultiplexed
    const all = await target.logs('crashy', { lines: 50, level: 'all' });
    expect(all).toContain('INFO starting');
    expect(all).toContain('ERROR boom');
    expect(await target.logs('crashy', { lines: 1, level: 'all' })).toHaveLength(1);
  });

  it('filters a running container by level (warn keeps WARN, drops INFO)', async () => {
    const warn = await poll(
      () => target.logs('steady', { lines: 10, level: 'warn' }),
      (lines) => lines.length > 0,
      5_000,
    );
    expect(warn).toEqual(['WARN slow']);
    expect(await target.logs('steady', { lines: 10, level: 'info' })).toEqual(['INFO up', 'WARN slow']);
  });

  it('reads a TTY container (raw stream, CRLF line ends)', async () => {
    const created = await dockerd.docker.createContainer({
      name: 'tty',
      Image: dockerd.image,
      Tty: true,
      Cmd: ['sh', '-c', 'echo "INFO tty up"; echo "ERROR tty down"; sleep 600'],
      HostConfig: { NetworkMode: 'none' },
    });
    try {
      await created.start();
      const lines = await poll(
        () => target.logs('tty', { lines: 10, level: 'all' }),
        (l) => l.length >= 2,
        5_000,
      );
      expect(lines).toEqual(['INFO tty up', 'ERROR tty down']);
      expect(await target.logs('tty', { lines: 10, level: 'error' })).toEqual(['ERROR tty down']);
    } finally {
      await created.remove({ force: true });
    }
  });

  it('restarts a running container: a new StartedAt, running again', async () => {
    const before: ContainerState = await target.state('steady');
    expect(before.running).toBe(true);
    expect(before.exitCode).toBeNull();
    const result = await target.restart('steady', { stopTimeoutSeconds: 5 });
    expect(result.container).toBe('steady');
    expect(result.state.running).toBe(true);
    expect(result.state.startedAt).not.toBe(before.startedAt);
    expect(result.restartedAt).toBe(result.state.startedAt);
    expect(Date.parse(result.restartedAt)).toBeGreaterThan(Date.parse(before.startedAt as string));
  });

  // dockerd records the exit before the OOM on a busy host now and then (State.OOMKilled stays
  // false); the target then reads the engine's `oom` event, which the poll allows time to arrive.
  it('reports an OOM kill', async () => {
    const state = await poll(
      () => target.state('hog'),
      (s) => s.status === 'exited' && s.oomKilled,
    );
    expect(state).toMatchObject({ oomKilled: true, exitCode: 137, running: false, status: 'exited' });
    expect(state.finishedAt).not.toBeNull();
  });

  it('does not call a SIGKILL an OOM kill: exit 137 without an oom event', async () => {
    await dockerd.run('killed', ['sh', '-c', 'while true; do sleep 1; done']);
    await dockerd.docker.getContainer('killed').kill({ signal: 'KILL' });
    const state = await poll(
      () => target.state('killed'),
      (s) => s.status === 'exited',
    );
    expect(state).toMatchObject({ oomKilled: false, exitCode: 137, running: false, status: 'exited' });
  });

  it('returns CPU and memory for a running container, nulls for a stopped one', async () => {
    const [running, stopped] = await Promise.all([target.stats('steady'), target.stats('hog')]);
    expect(running.cpuPercent).toEqual(expect.any(Number));
    expect(running.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(running.memoryBytes).toBeGreaterThan(0);
    expect(running.memoryLimitBytes).toBeGreaterThan(0);
    expect(stopped).toEqual({ cpuPercent: null, memoryBytes: null, memoryLimitBytes: null });
  });

  it('names an unknown container in a DockerTargetError', async () => {
    for (const call of [
      () => target.state('ghost'),
      () => target.logs('ghost', { lines: 5, level: 'all' }),
      () => target.stats('ghost'),
      () => target.restart('ghost'),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DockerTargetError);
      expect((error as Error).message).toBe(`docker at ${dockerd.socketPath}: no such container "ghost"`);
    }
  });

  it('refuses a bad container name before any API call', async () => {
    const silent = await silentSocket(scratch);
    const guarded = new DockerTarget({ socketPath: silent.path }, { timeoutMs: 2_000 });
    try {
      for (const name of ['../x', 'a b', '-x', '', 'x'.repeat(129), 'a/b', 'a;rm']) {
        for (const call of [
          () => guarded.state(name),
          () => guarded.logs(name, { lines: 5, level: 'all' }),
          () => guarded.stats(name),
          () => guarded.restart(name),
        ]) {
          const error = await call().catch((e: unknown) => e);
          expect(error).toBeInstanceOf(DockerTargetError);
          expect((error as Error).message).toMatch(/is not a container name/);
        }
      }
      expect(silent.connections()).toBe(0);
    } finally {
      guarded.close();
      silent.close();
    }
  });

  it('explains an unreachable socket, a silent daemon and unreadable TLS files in one line', async () => {
    const missing = join(scratch, 'missing.sock');
    const nowhere = new DockerTarget({ socketPath: missing });
    await expect(nowhere.state('api')).rejects.toThrow(
      new DockerTargetError(`docker at ${missing}: no socket at that path`),
    );

    const silent = await silentSocket(scratch);
    const slow = new DockerTarget({ socketPath: silent.path }, { timeoutMs: 300 });
    try {
      await expect(slow.state('api')).rejects.toThrow(
        new DockerTargetError(`docker at ${silent.path}: inspect "api" timed out after 300 ms`),
      );
    } finally {
      slow.close();
      silent.close();
    }

    const tls = new DockerTarget({
      host: 'docker.invalid',
      port: 2376,
      tls: { ca: join(scratch, 'ca.pem'), cert: join(scratch, 'cert.pem'), key: join(scratch, 'key.pem') },
    });
    await expect(tls.state('api')).rejects.toThrow(
      new DockerTargetError(
        `docker at docker.invalid:2376: cannot read the TLS ca file ${join(scratch, 'ca.pem')}: ENOENT`,
      ),
    );
  });
});
