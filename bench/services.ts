import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Queue } from 'bullmq';
import { nodeFlagsFor } from '../services/ingest/node-flags.js';
import { freePort } from '../test/support/redis-server.js';

const root = resolve(import.meta.dirname, '..');

export interface ServiceProcess {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Runs one Hermes service as its own process, as in production. */
export function spawnService(
  name: 'ingest' | 'triage' | 'executor' | 'notifier',
  env: Record<string, string>,
): Promise<ServiceProcess> {
  return spawnScript(resolve(root, 'services', name, 'main.ts'), env, name === 'ingest', nodeFlagsFor(name));
}

/** Runs a TypeScript file as its own Node process on a free PORT; with `http`, waits for its /readyz. */
export async function spawnScript(
  file: string,
  env: Record<string, string> = {},
  http = true,
  nodeFlags: string[] = [],
): Promise<ServiceProcess> {
  const port = http ? await freePort() : 0;
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', file], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', process.env.BENCH_CHILD_STDOUT ? 'inherit' : 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  if (http) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${file} exited with ${child.exitCode}`);
      try {
        if ((await fetch(`${url}/readyz`)).ok) break;
      } catch {
        // starting
      }
      if (Date.now() > deadline) throw new Error(`${file} did not become ready`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc (Linux), with its children's:
 * those that exited (Redis' AOF rewrite is a forked child) and those still running.
 */
export function cpuMs(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  if (!Number.isFinite(ticks)) throw new Error(`no CPU times for process ${pid}`);
  return (
    (ticks * 1000) / CLOCK_TICKS_PER_SECOND + childPids(pid).reduce((sum, child) => sum + cpuMs(child), 0)
  );
}

function childPids(pid: number | undefined): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    // It exited while being read: its time is in its parent's now.
    return [];
  }
}

/** CPU time the whole machine has been busy and in all, in ms summed over cores, from /proc/stat. */
export function machineCpuMs(): { busy: number; total: number } {
  const ticks = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((sum, t) => sum + t, 0);
  // The idle and iowait columns.
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return {
    busy: ((total - idle) * 1000) / CLOCK_TICKS_PER_SECOND,
    total: (total * 1000) / CLOCK_TICKS_PER_SECOND,
  };
}

/** Resident set size of a process in MiB, from /proc (Linux). */
export function rssMiB(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) / 1024;
}

/** Worker processes say nothing when ready; BullMQ's client list does. */
export async function waitForWorkers(queue: Queue, count: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await queue.getWorkersCount()) < count) {
    if (Date.now() > deadline) throw new Error(`${count} ${queue.name} workers did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}
