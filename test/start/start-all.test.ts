import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { toAlert } from '../support/incidents.js';
import { collectOutput } from '../support/output.js';
import { eventually } from '../support/redis.js';
import { freePort } from '../support/redis-server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'hermes-start-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

async function npmStart(port: number, redisPort: number): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start-all.ts'], {
    env: {
      ...process.env,
      REDIS_URL: '',
      PORT: String(port),
      HERMES_REDIS_PORT: String(redisPort),
      HERMES_DATA_DIR: dataDir,
      PLANNER: 'runbook',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await eventually(
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok,
    'ingest to be ready',
    30_000,
  );
  return { child, output, exited };
}

it('npm start runs every service on a local AOF Redis, stops gracefully on Ctrl-C, and keeps its data', async () => {
  const [port, redisPort] = [await freePort(), await freePort()];
  const first = await npmStart(port, redisPort);
  const body = {
    version: '4',
    status: 'firing',
    receiver: 'hermes',
    alerts: [toAlert({ alertname: 'ServiceDown', service: 'api-gateway', severity: 'critical' })],
  };
  const posted = await fetch(`http://127.0.0.1:${port}/webhooks/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(posted.status).toBe(202);
  const [id] = (await posted.json()).incidents;
  // Triage runs the runbook; the executor, in dry-run by default, records what it would have done.
  const incident = await eventually(
    async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/incidents/${id}`);
      const json = await res.json();
      return json.actions?.some((a: { decision: string }) => a.decision === 'dry_run') ? json : null;
    },
    'the dry-run restart',
    30_000,
  );
  expect(incident.actions[0]).toMatchObject({ tool: 'restart_service', decision: 'dry_run' });
  // A banner first: the mode, where everything is, what is not configured.
  expect(first.output()).toMatch(
    /^\[hermes\] mode: +EXECUTION_MODE=dry-run \(decisions are recorded, nothing runs/m,
  );
  expect(first.output()).toContain(`[hermes] console:  http://127.0.0.1:${port}/ui`);
  expect(first.output()).toMatch(/^\[hermes\] {3}- PROMETHEUS_URL: /m);
  // Readable log lines, not pino's JSON.
  expect(first.output()).toMatch(/^\[executor\] \d\d:\d\d:\d\d INFO {2}executor started {2}mode=dry-run/m);
  expect(first.output()).not.toMatch(/^\[\w+\] +\{"level"/m);
  await eventually(async () => /channel=console/.test(first.output()), 'a console notification');

  first.child.kill('SIGINT');
  expect(await first.exited).toBe(0);
  expect(first.output()).toMatch(/redis-server stopped \(data kept\)/);
  expect(existsSync(join(dataDir, 'redis', 'appendonlydir'))).toBe(true);

  const second = await npmStart(port, redisPort);
  try {
    const again = await (await fetch(`http://127.0.0.1:${port}/api/incidents/${id}`)).json();
    expect(again).toMatchObject({ id, alertname: 'ServiceDown' });
  } finally {
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  }
}, 90_000);
