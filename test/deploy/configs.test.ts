import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_LEVELS } from '../../services/ingest/classify.js';
import { INGEST_NODE_FLAGS } from '../../services/ingest/node-flags.js';

const read = (path: string) => parse(readFileSync(path, 'utf8'));

describe('deploy/', () => {
  it('has Prometheus rules that promtool accepts, one per scenario, each with a known level', () => {
    const out = execFileSync('promtool', ['check', 'rules', 'deploy/prometheus/rules.yml'], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/SUCCESS: 7 rules found/);
    const names = read('deploy/prometheus/rules.yml').groups.flatMap((g: { rules: { alert: string }[] }) =>
      g.rules.map((r) => r.alert),
    );
    expect(names.sort()).toEqual([
      'DBConnectionPoolExhausted',
      'DiskSpaceLow',
      'HighErrorRate',
      'HighLatency',
      'MemoryGrowth',
      'QueueBacklog',
      'ServiceDown',
    ]);
    for (const name of names) expect(DEFAULT_LEVELS[name]).toBeDefined();
  });

  it('has an Alertmanager config that amtool accepts and that posts to ingest with bearer auth', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hermes-am-'));
    writeFileSync(join(dir, 'token'), 'x');
    const config = readFileSync('deploy/alertmanager/alertmanager.yml', 'utf8').replace(
      '/etc/alertmanager/ingest-token',
      join(dir, 'token'),
    );
    writeFileSync(join(dir, 'am.yml'), config);
    execFileSync('amtool', ['check-config', join(dir, 'am.yml')], { encoding: 'utf8' });
    const hook = parse(config).receivers[0].webhook_configs[0];
    expect(hook).toMatchObject({
      url: 'http://ingest:8080/webhooks/alertmanager',
      send_resolved: true,
      http_config: { authorization: { type: 'Bearer' } },
    });
  });

  it('has a compose file with every service, AOF Redis, and a triage that can be scaled', () => {
    const compose = read('docker-compose.yml');
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'alertmanager',
        'executor',
        'ingest',
        'node-exporter',
        'notifier',
        'prometheus',
        'redis',
        'triage',
      ].sort(),
    );
    expect(compose.services.redis.command).toContain('--appendonly');
    expect(compose.services.triage.ports).toBeUndefined();
    expect(compose.services.triage.container_name).toBeUndefined();
    // The executor is dry-run unless the operator says live; each service mounts only its own SSH key.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own ${VAR:-default} syntax
    expect(compose.services.executor.environment.EXECUTION_MODE).toBe('${EXECUTION_MODE:-dry-run}');
    expect(compose.services.triage.volumes.join(' ')).toContain('triage_ed25519');
    expect(compose.services.triage.volumes.join(' ')).not.toContain('executor_ed25519');
    expect(compose.services.executor.volumes.join(' ')).toContain('executor_ed25519');
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    expect(dockerfile).toMatch(/^USER hermes$/m);
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
  });

  it('starts ingest with its V8 flags everywhere it is started', () => {
    const main = 'services/ingest/main.ts';
    const command = ['node', ...INGEST_NODE_FLAGS, '--import', 'tsx', main];
    expect(read('docker-compose.yml').services.ingest.command).toEqual(command);
    const cmd = /^CMD (.*)$/m.exec(readFileSync('Dockerfile', 'utf8'))?.[1];
    expect(JSON.parse(cmd ?? 'null')).toEqual(command);
    const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts;
    expect(scripts['start:ingest']).toBe(command.join(' '));
  });
});
