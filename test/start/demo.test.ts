import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { collectOutput } from '../support/output.js';
import { eventually } from '../support/redis.js';

// `npm run demo`: real sshd VMs on loopback, the helper, Prometheus and Alertmanager (or the
// demo's stand-in alert source), Hermes live. Each run must fix the killed service and leave
// nothing behind: no temp dir, no process.

interface Demo {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startDemo(command: string, args: string[]): Demo {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collectOutput(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, exited };
}

/** The demo's temp dir, from its own first lines. */
function workDir(output: string): string {
  const dir = /\[demo\] working in (\S+) \(removed on exit\)/.exec(output)?.[1];
  if (!dir) throw new Error(`the demo did not say where it works:\n${output}`);
  return dir;
}

/** Processes whose command line names `dir` (sshd, demo services, Prometheus, Alertmanager). */
function processesUsing(dir: string): string {
  try {
    return execFileSync('pgrep', ['-af', dir], { encoding: 'utf8' });
  } catch {
    return ''; // pgrep exits 1 when nothing matches
  }
}

it('npm run demo -- --once: kills the service on vm-2, Hermes restarts it over SSH and verifies; exits 0 and cleans up', async () => {
  const demo = startDemo('npm', ['run', '--silent', 'demo', '--', '--once']);
  const code = await demo.exited;
  const output = demo.output();
  expect(code, output).toBe(0);
  expect(output).toMatch(
    /\[demo\] Prometheus http:\/\/127\.0\.0\.1:\d+, Alertmanager http:\/\/127\.0\.0\.1:\d+/,
  );
  expect(output).toMatch(/killed demo-api on vm-2 \(127\.0\.0\.3:\d+\)/);
  expect(output).toMatch(
    /action +restart_service +→ executed +ran: restart demo-api on 127\.0\.0\.3 via ssh/,
  );
  expect(output).toMatch(/key=write from=127\.0\.0\.1 request="restart demo-api" exit=0/);
  expect(output).toMatch(/\[demo\] incident: http:\/\/127\.0\.0\.1:\d+\/ui\/incidents\/inc_\S+/);
  expect(output).toMatch(/\[demo\] fixed and verified in [\d.]+ s/);
  const dir = workDir(output);
  expect(existsSync(dir)).toBe(false);
  expect(processesUsing(dir)).toBe('');
}, 120_000);

it('without Prometheus it posts the alerts itself, in Alertmanager format, and the fix is verified by their resolve', async () => {
  const demo = startDemo(process.execPath, [
    '--import',
    'tsx',
    'scripts/demo.ts',
    '--once',
    '--without-prometheus',
  ]);
  const code = await demo.exited;
  const output = demo.output();
  expect(code, output).toBe(0);
  expect(output).not.toContain('Alertmanager http');
  expect(output).toContain('verification: Alertmanager reports the alert resolved');
  expect(output).toMatch(/\[demo\] fixed and verified in [\d.]+ s/);
  expect(existsSync(workDir(output))).toBe(false);
}, 120_000);

it('Ctrl-C mid-demo stops everything and removes its files', async () => {
  const demo = startDemo(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--without-prometheus']);
  await eventually(
    async () => demo.output().includes('killed demo-api on vm-2'),
    'the demo to kill the service',
    60_000,
  );
  const dir = workDir(demo.output());
  expect(processesUsing(dir)).toMatch(/sshd/);
  demo.child.kill('SIGINT');
  expect(await demo.exited, demo.output()).toBe(0);
  expect(demo.output()).toContain('[demo] SIGINT: stopping and cleaning up');
  expect(existsSync(dir)).toBe(false);
  expect(processesUsing(dir)).toBe('');
}, 120_000);
