import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { freePort } from '../support/redis-server.js';

const run = promisify(execFile);
const evaluate = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'evals/run.ts', ...args], {
    env: { ...process.env, REDIS_URL: '' },
  });

it('npm run eval without a reachable model says so first and exits 2, scoring nothing', async () => {
  const port = await freePort();
  const refused = await evaluate(
    '--base-url',
    `http://127.0.0.1:${port}/v1`,
    '--api-key',
    'sekret-key',
  ).catch((error) => error);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(
    new RegExp(
      `^eval: model \\S+ is not reachable \\(GET http://127\\.0\\.0\\.1:${port}/v1/models: .*ECONNREFUSED`,
    ),
  );
  expect(refused.stdout).not.toMatch(/PASS|checks passed/);
  expect(refused.stderr).not.toContain('sekret');

  const server = createServer((_, res) => res.writeHead(401).end('{"error":"bad key"}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port: authPort } = server.address() as AddressInfo;
    const unauthorized = await evaluate('--base-url', `http://127.0.0.1:${authPort}/v1`).catch(
      (error) => error,
    );
    expect(unauthorized.code).toBe(2);
    expect(unauthorized.stderr).toContain(`(GET http://127.0.0.1:${authPort}/v1/models answered 401)`);
  } finally {
    server.close();
  }
});
