import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvError } from '../../../shared/env.js';
import { lineRank } from '../../../shared/log-levels.js';
import { ConfigFileError } from '../../../shared/yaml-config.js';
import { type FakePrometheus, startFakePrometheus } from '../../../test/support/fake-prometheus.js';
import { loadAllowlist, runDiagnosis } from '../tools/diagnosis.js';
import { FileLogSource, parseLogSources } from '../tools/logs.js';
import { alertExpression, instanceMatcher, PrometheusClient } from '../tools/prometheus.js';
import { logDir, tempDir, writeFile } from './harness.js';

describe('file log source', () => {
  it('filters by level (JSON pino lines and plain text) and returns the last N lines', async () => {
    const dir = logDir({
      api: [
        '{"level":30,"msg":"started"}',
        '{"level":50,"msg":"db down"}',
        '2026-01-01 WARN slow',
        '2026-01-01 ERROR refused 1',
        '2026-01-01 ERROR refused 2',
      ],
    });
    const source = new FileLogSource(new Map(), dir);
    expect(await source.tail('api', { lines: 2, level: 'error' })).toEqual([
      '2026-01-01 ERROR refused 1',
      '2026-01-01 ERROR refused 2',
    ]);
    expect(await source.tail('api', { lines: 10, level: 'warn' })).toHaveLength(4);
    expect(await source.tail('api', { lines: 10, level: 'all' })).toHaveLength(5);
    await expect(source.tail('nope', { lines: 1, level: 'all' })).rejects.toThrow('no log file');
    expect(lineRank('{"level":"warn"}')).toBe(2);
  });

  it('uses explicit LOG_SOURCES paths before LOG_DIR', async () => {
    const path = writeFile('custom.log', 'ERROR from custom\n');
    const source = new FileLogSource(parseLogSources(`payments=${path}`), undefined);
    expect(await source.tail('payments', { lines: 5, level: 'error' })).toEqual(['ERROR from custom']);
    await expect(source.tail('other', { lines: 5, level: 'error' })).rejects.toThrow(
      'no log source configured',
    );
    expect(() => parseLogSources('broken')).toThrow('not service=path');
    expect(() => parseLogSources('broken')).toThrow(EnvError);
  });
});

describe('allowlisted diagnosis commands', () => {
  it('runs only allowlisted names with their fixed argv, never a shell', async () => {
    const dir = tempDir();
    const path = join(dir, 'allow.yaml');
    writeFileSync(
      path,
      `commands:\n  hello: [node, -e, "process.stdout.write('hi ' + process.argv.length)"]\n`,
    );
    const allowlist = await loadAllowlist(path);
    expect(await runDiagnosis(allowlist, 'hello', 5_000)).toEqual({
      exitCode: 0,
      stdout: 'hi 1',
      stderr: '',
    });
    await expect(runDiagnosis(allowlist, 'hello; rm -rf /', 5_000)).rejects.toThrow('not allowlisted');
    await expect(runDiagnosis(allowlist, 'rm -rf /', 5_000)).rejects.toThrow('allowed: hello');
  });

  it('names the file, line and problem of a wrong allowlist', async () => {
    const path = join(tempDir(), 'allow.yaml');
    writeFileSync(path, 'commands:\n  ok: [df]\n  "rm -rf": [rm, -rf, /]\n');
    await expect(loadAllowlist(path)).rejects.toThrow(ConfigFileError);
    await expect(loadAllowlist(path)).rejects.toThrow(new RegExp(`${path}:3:\\d+: commands\\.rm -rf: `));
    writeFileSync(path, 'commands: [\n');
    await expect(loadAllowlist(path)).rejects.toThrow(new RegExp(`^${path}:2:\\d+: `));
  });

  it('the shipped allowlist parses', async () => {
    const allowlist = await loadAllowlist('config/diagnosis-allowlist.yaml');
    expect(allowlist.get('disk_usage')).toEqual(['df', '-h']);
  });
});

describe('Prometheus client', () => {
  let prometheus: FakePrometheus;
  beforeEach(async () => {
    prometheus = await startFakePrometheus((q) => (q === 'up' ? [{ metric: { job: 'api' }, value: 1 }] : []));
  });
  afterEach(() => prometheus.close());

  it('runs instant and range queries against the HTTP API', async () => {
    const client = new PrometheusClient(prometheus.url);
    expect(await client.instant('up')).toMatchObject({
      resultType: 'vector',
      result: [{ value: [expect.any(Number), '1'] }],
    });
    expect(await client.range('up', 600)).toMatchObject({ resultType: 'matrix' });
    expect(prometheus.queries).toEqual(['up', 'up']);
  });

  it('reports errors clearly', async () => {
    await expect(new PrometheusClient(`${prometheus.url}/nothing-here`).instant('up')).rejects.toThrow(
      /Prometheus/,
    );
  });

  it('reads the alert expression from a generator URL and builds safe instance matchers', () => {
    expect(alertExpression('http://prom:9090/graph?g0.expr=up%20%3D%3D%200&g0.tab=1')).toBe('up == 0');
    expect(alertExpression('not a url')).toBeNull();
    expect(instanceMatcher('app-server-01.prod:9100')).toBe('instance=~"app-server-01\\\\.prod(:[0-9]+)?"');
  });
});
