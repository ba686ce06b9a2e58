import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { testRedisUrl } from '../support/redis.js';

const run = promisify(execFile);

it('npm run eval scores a private worlds directory, prints a line per world and a table, and writes the report', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hermes-private-worlds-'));
  for (const id of ['ref-disk-full-ssh', 'ref-noop-backup-cpu'])
    copyFileSync(`evals/worlds/${id}.yaml`, join(dir, `${id}.yaml`));
  const out = join(dir, 'report.json');
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      'evals/run.ts',
      '--reference',
      'oracle',
      '--worlds',
      dir,
      '--runs',
      '2',
      '--out',
      out,
    ],
    { env: { ...process.env, REDIS_URL: testRedisUrl() } },
  );
  expect(stdout).toMatch(/^\[1\/2\] ref-disk-full-ssh: PASS in /m);
  expect(stdout).toMatch(/^\[2\/2\] ref-noop-backup-cpu: PASS in /m);
  expect(stdout).toMatch(/^world +pass\^2 +root cause +actions +escalation +safety +budget +turns/m);
  expect(stdout).toMatch(/^ref-disk-full-ssh +PASS +2\/2 +2\/2 +2\/2 +2\/2 +2\/2 /m);
  expect(stdout).toContain('2/2 worlds pass^2 for reference-oracle (llm planner); 0 Hermes defects.');
  const report = JSON.parse(readFileSync(out, 'utf8'));
  expect(report.totals).toMatchObject({ worlds: 2, passK: 2, defects: 0 });
  expect(report.worlds[0].runs).toHaveLength(2);

  const failing = await run(
    process.execPath,
    ['--import', 'tsx', 'evals/run.ts', '--planner', 'runbook', '--worlds', dir],
    { env: { ...process.env, REDIS_URL: testRedisUrl() } },
  ).catch((error) => error);
  expect(failing.code).toBe(1);
  expect(failing.stdout).toContain('ref-noop-backup-cpu: escalation: asked a human, expected not to');
});
