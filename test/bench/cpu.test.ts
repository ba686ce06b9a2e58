import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { cpuMs, machineCpuMs } from '../../bench/services.js';
import { eventually } from '../support/redis.js';

// bash runs a child that burns 300 ms of CPU (not of wall time), then, with `stay`, idles until
// killed; bash then waits on its stdin (a builtin: no other child). User and system time both count:
// the loop is mostly getrusage calls, and on a loaded machine little of it may be user time.
const burn = (stay: boolean) =>
  `node -e 'const s = process.cpuUsage(); const spent = () => { const u = process.cpuUsage(s); return u.user + u.system; }; while (spent() < 300000) {} ${stay ? 'setInterval(() => {}, 1000)' : ''}'; read line`;

const hasChildren = (pid: number) => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim() !== '';

// The bench charges Redis for its AOF rewrites: forked children, running or already exited.
it.each([
  ['still running', true],
  ['exited and reaped', false],
])('counts the CPU of a process’s children that are %s', async (_, stay) => {
  const shell = spawn('bash', ['-c', burn(stay)], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  const pid = shell.pid as number;
  try {
    // bash itself only waits: anything near 300 ms is its child's.
    await eventually(async () => cpuMs(pid) >= 250, 'the child’s CPU to be counted', 20_000);
    if (!stay) {
      await eventually(async () => !hasChildren(pid), 'the child to exit', 20_000);
      expect(cpuMs(pid)).toBeGreaterThanOrEqual(250);
    }
  } finally {
    process.kill(-pid, 'SIGKILL');
    await once(shell, 'exit');
  }
});

it('reads how long the machine was busy, within how long it ran in all', async () => {
  const before = machineCpuMs();
  const after = await eventually(async () => {
    const now = machineCpuMs();
    return now.total - before.total >= 100 ? now : undefined;
  }, 'the machine’s CPU time to advance');
  const busy = after.busy - before.busy;
  const total = after.total - before.total;
  expect(total).toBeGreaterThan(0);
  expect(busy).toBeGreaterThanOrEqual(0);
  expect(busy).toBeLessThanOrEqual(total);
});
