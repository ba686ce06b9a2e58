import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicy, PolicyError, parsePolicy } from '../policy.js';

const DESIGN_TIERS = {
  read: [
    'get_service_logs',
    'get_metrics',
    'check_system_resources',
    'run_diagnosis_command',
    'send_notification',
    'request_human_confirmation',
  ],
  safe: ['restart_service', 'clean_disk_space', 'scale_service', 'restart_db_pool', 'restart_consumers'],
  confirm: ['modify_nginx_config', 'rollback_deployment'],
  forbidden: ['delete_data', 'delete_database', 'drop_table', 'database_failover', 'modify_security_policy'],
};

describe('config/policy.yaml', () => {
  const policy = loadPolicy('config/policy.yaml');

  it('has exactly the design tool-tier table', () => {
    const byTier: Record<string, string[]> = {};
    for (const [name, tool] of Object.entries(policy.tools))
      byTier[tool.tier] = [...(byTier[tool.tier] ?? []), name];
    for (const [tier, tools] of Object.entries(DESIGN_TIERS))
      expect(byTier[tier]?.sort()).toEqual([...tools].sort());
    expect(policy.tool('anything_else')).toBeUndefined();
  });

  it('holds the seed limits', () => {
    expect(policy.tool('restart_service')?.rateLimit).toMatchObject({
      per: 'service',
      max: 3,
      windowSeconds: 3600,
    });
    expect(policy.tool('scale_service')?.scale?.maxAboveBaseline).toBe(2);
    const clean = policy.tool('clean_disk_space');
    expect(clean?.argsSchema.safeParse({ host: 'h', paths: ['/var/log'], min_age_days: 6 }).success).toBe(
      false,
    );
    expect(clean?.argsSchema.parse({ host: 'h', paths: ['/var/log'] })).toMatchObject({ min_age_days: 7 });
  });

  it('takes restart_service arguments as in the seed', () => {
    const schema = policy.tool('restart_service')?.argsSchema;
    expect(schema?.safeParse({ service: 'nginx', host: 'web-1', reason: 'down' }).success).toBe(true);
    expect(schema?.safeParse({ service: 'nginx', host: 'web-1', reason: 'down', extra: 1 }).success).toBe(
      false,
    );
  });
});

describe('policy validation', () => {
  const valid = `version: 1
limits: { stateChangesPerHour: 10 }
breaker: { failureThreshold: 3, windowSeconds: 60, cooldownSeconds: 60 }
tools:
  restart_service:
    tier: safe
    args:
      service: { type: name }
      reason: { type: text }
    backend: { kind: command, argv: [systemctl, restart, "{service}"] }
`;

  it('accepts a valid file', () => {
    expect(parsePolicy(valid).tool('restart_service')?.tier).toBe('safe');
  });

  it('names the file, line and problem for a bad value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hermes-policy-'));
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, valid.replace('tier: safe', 'tier: yolo'));
    expect(() => loadPolicy(path)).toThrow(PolicyError);
    expect(() => loadPolicy(path)).toThrow(new RegExp(`${path}:6:\\d+: tools.restart_service.tier: `));
  });

  it('names the line of a YAML syntax error', () => {
    expect(() => parsePolicy('version: 1\ntools: [unclosed\n', '/x/policy.yaml')).toThrow(
      /^\/x\/policy\.yaml:\d+:\d+: /,
    );
  });

  it('refuses free text in a command template and state-changing tools without a backend', () => {
    expect(() => parsePolicy(valid.replace('"{service}"', '"{reason}"'))).toThrow(
      /tools\.restart_service\.backend\.argv\.2: \{reason\} must be an argument of type name or integer/,
    );
    expect(() => parsePolicy(valid.replace(/ {4}backend:.*\n/, ''))).toThrow(/a safe tool needs a backend/);
  });

  it('defaults recurrence and learning, and names the file, line and problem of a bad block', () => {
    expect(parsePolicy(valid)).toMatchObject({
      recurrence: { maxRepeats: 2, windowSeconds: 3600 },
      learning: { ineffectiveToConfirm: 3, windowSeconds: 14_400, cooldownSeconds: 86_400 },
    });
    const withBlocks = (blocks: string) => valid.replace('tools:\n', `${blocks}tools:\n`);
    expect(parsePolicy(withBlocks('learning: { ineffectiveToConfirm: 5 }\n')).learning).toEqual({
      ineffectiveToConfirm: 5,
      windowSeconds: 14_400,
      cooldownSeconds: 86_400,
      proposeAfterApprovals: 5,
    });
    expect(() => parsePolicy(withBlocks('learning:\n  ineffectiveToConfirm: 0\n'), '/x/policy.yaml')).toThrow(
      /\/x\/policy\.yaml:5:\d+: learning\.ineffectiveToConfirm: /,
    );
    expect(() => parsePolicy(withBlocks('recurrence:\n  maxRepeat: 2\n'), '/x/policy.yaml')).toThrow(
      /\/x\/policy\.yaml:5:\d+: recurrence: Unrecognized key: "maxRepeat"/,
    );
  });

  it('defaults preapproved: to none, and names the file, line and problem of a bad entry', () => {
    expect(parsePolicy(valid).preapproved).toEqual([]);
    expect(loadPolicy('config/policy.yaml').preapproved).toEqual([]);
    const entry = (text: string) => valid.replace('tools:\n', `preapproved:\n  - ${text}\ntools:\n`);
    expect(
      parsePolicy(entry('{ alertname: ServiceDown, tool: restart_service, resource: api }')).preapproved,
    ).toEqual([{ alertname: 'ServiceDown', tool: 'restart_service', resource: 'api' }]);
    expect(() =>
      parsePolicy(entry('{ alertname: ServiceDown, tool: restart_everything, resource: api }'), '/x/p.yaml'),
    ).toThrow(/\/x\/p\.yaml:5:\d+: preapproved\.0\.tool: restart_everything is not a tool in tools:/);
    expect(() =>
      parsePolicy(entry('{ alertname: ServiceDown, tool: restart_service }'), '/x/p.yaml'),
    ).toThrow(/\/x\/p\.yaml:5:\d+: preapproved\.0\.resource: /);
    expect(() =>
      parsePolicy(entry('{ alertname: A, tool: restart_service, resource: api, level: 3 }'), '/x/p.yaml'),
    ).toThrow(/preapproved\.0: Unrecognized key: "level"/);
  });

  it('refuses a missing file with its path', () => {
    expect(() => loadPolicy('/nonexistent/policy.yaml')).toThrow(/\/nonexistent\/policy\.yaml: cannot read/);
  });
});
