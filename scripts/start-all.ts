/**
 * `npm start`: the whole system on one machine with embedded defaults. Starts a local redis-server
 * (AOF on, data under ./data/redis or $HERMES_DATA_DIR/redis, reused across restarts) unless REDIS_URL or REDIS_CLUSTER_NODES
 * is set, then runs ingest, triage, executor and notifier as child processes with prefixed output,
 * in dry-run unless EXECUTION_MODE says otherwise.
 * Ctrl-C stops the services gracefully (they finish or return their jobs), then Redis.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { nodeFlagsFor } from '../services/ingest/node-flags.js';
import { probeModel } from '../shared/model-probe.js';
import { pingUntilReady } from '../shared/redis.js';
import { banner } from './banner.js';
import { prettyLine } from './pretty-log.js';

const SERVICES = ['ingest', 'executor', 'notifier', 'triage'] as const;
const root = resolve(import.meta.dirname, '..');
const children: ChildProcess[] = [];
let redisServer: ChildProcess | undefined;
let stopping = false;

function log(line: string) {
  process.stdout.write(`[hermes] ${line}\n`);
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

async function startLocalRedis(): Promise<string> {
  const dir = join(resolve(root, process.env.HERMES_DATA_DIR ?? 'data'), 'redis');
  mkdirSync(dir, { recursive: true });
  let port = Number(process.env.HERMES_REDIS_PORT ?? 6399);
  while (!(await portIsFree(port))) port++;
  redisServer = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], detached: true },
  );
  redisServer.once('error', (error) => {
    log(
      `cannot start redis-server (${error.message}). Install it (apt-get install -y redis-server) or set REDIS_URL.`,
    );
    process.exit(1);
  });
  const url = `redis://127.0.0.1:${port}`;
  if (!(await pingUntilReady(url, 10_000, () => redisServer?.exitCode !== null))) {
    throw new Error('redis-server did not start');
  }
  log(`redis-server on ${url} (AOF in ${dir})`);
  return url;
}

function startService(name: (typeof SERVICES)[number], env: NodeJS.ProcessEnv): void {
  const child = spawn(
    process.execPath,
    [...nodeFlagsFor(name), '--import', 'tsx', join(root, 'services', name, 'main.ts')],
    {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: a terminal's Ctrl-C reaches only us, and we stop the services once, in order.
      detached: true,
    },
  );
  const prefix = `[${name}] `.padEnd(11);
  const format = process.env.HERMES_LOG_FORMAT === 'json' ? (line: string) => line : prettyLine;
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(`${prefix}${format(line)}\n`);
    });
  }
  child.on('exit', (code, signal) => {
    if (!stopping) {
      log(`${name} exited (${signal ?? code}); stopping everything`);
      void stopAll(1);
    }
  });
  children.push(child);
}

async function stopAll(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  log('stopping services…');
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
    ),
  );
  if (redisServer && redisServer.exitCode === null) {
    const exited = new Promise((done) => redisServer?.once('exit', done));
    redisServer.kill('SIGTERM');
    await exited;
    log('redis-server stopped (data kept)');
  }
  process.exit(exitCode);
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

const env: NodeJS.ProcessEnv = { ...process.env };
if (!env.REDIS_URL && !env.REDIS_CLUSTER_NODES) env.REDIS_URL = await startLocalRedis();
// A first run on someone's machine must not restart their services: decide everything, run nothing.
env.EXECUTION_MODE ||= 'dry-run';
for (const name of SERVICES) startService(name, env);
log(`started ${SERVICES.join(', ')} (Ctrl-C stops)`);
for (const line of banner(env, await modelReachable(env))) log(line);

/** The start script's own quick look at the model (triage probes it again and keeps probing). */
async function modelReachable(env: NodeJS.ProcessEnv): Promise<boolean | undefined> {
  if ((env.PLANNER ?? 'auto') !== 'auto') return undefined;
  const probe = await probeModel(
    env.HERMES_BASE_URL ?? 'http://localhost:11434/v1',
    env.HERMES_API_KEY,
    2_000,
  );
  return probe.ok;
}
