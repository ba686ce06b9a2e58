import { expect, it } from 'vitest';
import { banner } from '../../scripts/banner.js';
import { prettyLine } from '../../scripts/pretty-log.js';

it('shows a pino line as time, level, message and fields; anything else unchanged', () => {
  const line = JSON.stringify({
    level: 40,
    time: Date.parse('2026-12-03T14:03:12.345Z'),
    pid: 7,
    hostname: 'h',
    name: 'executor',
    service: 'executor',
    msg: 'circuit breaker reset requested',
    by: 'dana',
    reason: 'DB back',
    err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' },
    counts: { a: 1 },
  });
  expect(prettyLine(line)).toBe(
    '14:03:12 WARN  circuit breaker reset requested  by=dana  reason="DB back"  err="boom"  counts={"a":1}',
  );
  expect(prettyLine('redis-server said hello')).toBe('redis-server said hello');
  expect(prettyLine('{"not":"pino"}')).toBe('{"not":"pino"}');
});

it('names what is not configured, with credentials redacted', () => {
  const lines = banner(
    { EXECUTION_MODE: 'dry-run', PORT: '9090', REDIS_URL: 'redis://hermes:s3cret@redis:6379' },
    false,
  );
  expect(lines).toContain('webhook:  http://127.0.0.1:9090/webhooks/alertmanager');
  expect(lines).toContain('redis:    redis://hermes:[redacted]@redis:6379');
  expect(lines.join('\n')).not.toContain('s3cret');
  expect(lines).toContain(
    '  - INGEST_TOKEN, ADMIN_TOKEN: the webhook, API and console answer this machine only',
  );
  expect(lines).toContain(
    '  - model at http://localhost:11434/v1 not reachable (HERMES_BASE_URL): the runbook planner diagnoses until it is',
  );
  const configured = banner(
    {
      EXECUTION_MODE: 'live',
      ADMIN_TOKEN: 'a',
      INGEST_TOKEN: 'i',
      SLACK_BOT_TOKEN: 'x',
      PROMETHEUS_URL: 'http://prom:9090',
      PLANNER: 'runbook',
    },
    undefined,
  );
  expect(configured[0]).toBe('mode:     EXECUTION_MODE=live (fixes run)');
  expect(configured.at(-1)).toBe('everything optional is configured');
});

it('shows the address ingest listens on, and warns when that is every interface with a token unset', () => {
  const open = banner({ EXECUTION_MODE: 'dry-run', INGEST_TOKEN: 'i' }, undefined);
  expect(open).toContain(
    'listen:   0.0.0.0:8080, all interfaces (HOST); from this machine: http://127.0.0.1:8080',
  );
  expect(open).toContain('webhook:  http://127.0.0.1:8080/webhooks/alertmanager');
  expect(open).toContain(
    'warning:  every interface, but ADMIN_TOKEN is not set: other machines get 401; set it, or HOST=127.0.0.1',
  );

  const ipv6 = banner({ EXECUTION_MODE: 'dry-run', HOST: '::' }, undefined);
  expect(ipv6).toContain(
    'listen:   [::]:8080, all interfaces (HOST); from this machine: http://127.0.0.1:8080',
  );
  expect(ipv6.join('\n')).toContain('warning:  every interface, but INGEST_TOKEN, ADMIN_TOKEN are not set');

  const tokens = { INGEST_TOKEN: 'i', ADMIN_TOKEN: 'a' };
  const lan = banner({ EXECUTION_MODE: 'dry-run', HOST: '10.1.2.3', PORT: '9000', ...tokens }, undefined);
  expect(lan).toContain('listen:   10.1.2.3:9000');
  expect(lan).toContain('console:  http://10.1.2.3:9000/ui   (CLI: npx hermes status)');
  expect(lan.join('\n')).not.toContain('warning:');

  const local = banner({ EXECUTION_MODE: 'dry-run', HOST: '127.0.0.1' }, undefined);
  expect(local).toContain('listen:   127.0.0.1:8080');
  expect(local.join('\n')).not.toContain('warning:');
});
