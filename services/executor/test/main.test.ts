import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectOutput } from '../../../test/support/output.js';
import { eventually, openTestRedis, type TestRedis } from '../../../test/support/redis.js';

let dir: string;
let t: TestRedis;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hermes-exec-main-'));
  t = await openTestRedis();
});
afterEach(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

function startMain(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/executor/main.ts'], {
    env: { PATH: process.env.PATH ?? '', REDIS_URL: t.url, HERMES_PREFIX: t.prefix, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, output, exited };
}

describe('services/executor/main.ts', () => {
  it('stops with the policy path, line and problem when the policy is bad', async () => {
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      'version: 1\nlimits: { stateChangesPerHour: 5 }\nbreaker: { failureThreshold: 1, windowSeconds: 1, cooldownSeconds: 1 }\ntools:\n  restart_service: { tier: maybe }\n',
    );
    const run = startMain({ POLICY_FILE: policy });
    expect(await run.exited).toBe(78);
    expect(run.output()).toContain(`${policy}:5:`);
    expect(run.output()).toContain('tools.restart_service.tier');
  });

  it('stops with the policy path, line and problem when a preapproved: entry is bad', async () => {
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      [
        'version: 1',
        'limits: { stateChangesPerHour: 5 }',
        'breaker: { failureThreshold: 1, windowSeconds: 1, cooldownSeconds: 1 }',
        'budgets: { maxInFlight: 1, maxInFlightFleet: 2 }',
        'tools:',
        '  drop_table: { tier: forbidden }',
        'preapproved:',
        '  - { alertname: DiskFull, tool: drop_table, resource: db }',
        '',
      ].join('\n'),
    );
    const run = startMain({ POLICY_FILE: policy });
    expect(await run.exited).toBe(78);
    expect(run.output()).toContain(`${policy}:8:`);
    expect(run.output()).toContain('preapproved.0.tool: drop_table is a forbidden tool');

    writeFileSync(policy, readFileSync(policy, 'utf8').replace(', resource: db', ''));
    const missing = startMain({ POLICY_FILE: policy });
    expect(await missing.exited).toBe(78);
    expect(missing.output()).toContain(`${policy}:8:`);
    expect(missing.output()).toContain('preapproved.0.resource');
  });

  it('stops with the targets path, line and problem when the targets file is bad', async () => {
    const targets = join(dir, 'targets.yaml');
    writeFileSync(
      targets,
      'version: 1\ntargets:\n  - name: web\n    kind: ssh\n    match: { instance: "(" }\n',
    );
    const run = startMain({ TARGETS_FILE: targets });
    expect(await run.exited).toBe(78);
    expect(run.output()).toContain(`${targets}:5:`);
    expect(run.output()).toContain('targets.0.match.instance');
  });

  it('stops with one line naming a bad EXECUTION_MODE', async () => {
    const run = startMain({ EXECUTION_MODE: 'yolo' });
    expect(await run.exited).toBe(78);
    expect(run.output()).toMatch(/EXECUTION_MODE: .*\(got "yolo"\)/);
  });

  it('starts on the default policy and shuts down cleanly on SIGTERM', async () => {
    const run = startMain({ LOG_LEVEL: 'info' });
    await eventually(
      async () => run.output().includes('executor started') || run.child.exitCode !== null,
      'the executor to start (or exit)',
      20_000,
    );
    expect(run.output()).toContain('executor started');
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});
