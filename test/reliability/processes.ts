import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { collectOutput } from '../support/output.js';
import { freePort } from '../support/redis-server.js';
import { LOCAL_TARGETS } from '../support/targets.js';

const root = resolve(import.meta.dirname, '..', '..');
export const SLOW_ACTION = join(import.meta.dirname, 'fixtures', 'slow-action.mjs');

export type ServiceName = 'ingest' | 'triage' | 'executor' | 'notifier';

export interface RunningService {
  name: ServiceName;
  url: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr (pino lines). */
  output(): string;
  /** kill -9: no shutdown hook runs. */
  crash(): Promise<void>;
  stop(): Promise<void>;
}

/** One Hermes service as its own process (`node --import tsx services/<name>/main.ts`). */
export async function startService(name: ServiceName, env: Record<string, string>): Promise<RunningService> {
  const port = name === 'ingest' ? await freePort() : 0;
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'services', name, 'main.ts')], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      TARGETS_FILE: LOCAL_TARGETS,
      // These tests kill processes mid-action: the executor must really run them.
      EXECUTION_MODE: 'live',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const waitExit = () =>
    exited() ? Promise.resolve() : new Promise<void>((done) => child.once('exit', () => done()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  // Workers announce themselves at info level; ingest is ready when /readyz says so.
  const ready = `${name === 'triage' ? 'triage worker' : name} started`;
  for (;;) {
    if (exited()) throw new Error(`${name} exited during start: ${output()}`);
    if (name === 'ingest' ? await isReady(url) : output().includes(ready)) break;
    if (Date.now() > deadline) throw new Error(`${name} did not start: ${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    name,
    url,
    child,
    output,
    async crash() {
      if (exited()) return;
      const done = waitExit();
      child.kill('SIGKILL');
      await done;
    },
    async stop() {
      if (exited()) return;
      const done = waitExit();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await done;
      clearTimeout(timer);
    },
  };
}

async function isReady(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`)).ok;
  } catch {
    return false;
  }
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `hermes-rel-${tag}-`));
}

/**
 * config/policy.yaml with every command tool running the slow-action fixture (a real process that
 * records each run in `marker`) and clean_disk_space confined to `diskRoot`.
 */
export function writeTestPolicy(dir: string, marker: string, seconds: number, diskRoot = dir): string {
  const policy = parse(readFileSync(join(root, 'config', 'policy.yaml'), 'utf8'));
  for (const tool of Object.values(policy.tools) as {
    backend?: { kind: string; argv?: string[]; roots?: string[] };
  }[]) {
    if (tool.backend?.kind === 'command') {
      const placeholders = tool.backend.argv?.filter((part) => part.includes('{')) ?? [];
      tool.backend.argv = [process.execPath, SLOW_ACTION, marker, String(seconds), ...placeholders];
    }
    if (tool.backend?.kind === 'disk') tool.backend.roots = [diskRoot];
  }
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, stringify(policy));
  return file;
}

/** Lines the slow-action fixture wrote (`start …` / `end …`). */
export function markerLines(marker: string): string[] {
  try {
    return readFileSync(marker, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
