import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigFileError } from '../../../shared/yaml-config.js';
import { DEFAULT_ROUTES, loadRoutes, route } from '../routing.js';

const sorted = (channels: string[]) => [...channels].sort();

describe('default routing', () => {
  it('pages PagerDuty and posts to Slack for level 3 and storms', () => {
    expect(
      sorted(
        route(DEFAULT_ROUTES, { event: 'incident_opened', severity: 'critical', level: 3, storm: false }),
      ),
    ).toEqual(['email', 'pagerduty', 'slack']);
    expect(
      sorted(route(DEFAULT_ROUTES, { event: 'storm_opened', severity: 'critical', level: 3, storm: true })),
    ).toEqual(['email', 'pagerduty', 'slack']);
  });

  it('posts level 1 fixes to Slack only, and keeps level 1 openings quiet', () => {
    expect(route(DEFAULT_ROUTES, { event: 'fixed', severity: 'info', level: 1, storm: false })).toContain(
      'slack',
    );
    expect(route(DEFAULT_ROUTES, { event: 'fixed', severity: 'info', level: 1, storm: false })).not.toContain(
      'email',
    );
    expect(
      route(DEFAULT_ROUTES, { event: 'incident_opened', severity: 'warning', level: 1, storm: false }),
    ).toEqual([]);
  });

  it('sends approval requests to Slack at any level', () => {
    for (const level of [1, 2, 3] as const) {
      expect(
        route(DEFAULT_ROUTES, { event: 'approval_requested', severity: 'warning', level, storm: false }),
      ).toContain('slack');
    }
  });

  it('pages a breaker trip only when critical', () => {
    expect(
      route(DEFAULT_ROUTES, { event: 'breaker_open', severity: 'critical', level: 1, storm: false }),
    ).toContain('pagerduty');
    expect(
      route(DEFAULT_ROUTES, { event: 'breaker_open', severity: 'warning', level: 1, storm: false }),
    ).not.toContain('pagerduty');
  });

  it('does not match level rules when the level is unknown', () => {
    expect(route(DEFAULT_ROUTES, { event: 'diagnosis', severity: 'info', storm: false })).toEqual([
      'pagerduty',
    ]);
  });
});

describe('routes file', () => {
  const write = (text: string) => {
    const file = join(mkdtempSync(join(tmpdir(), 'hermes-routes-')), 'routes.yaml');
    writeFileSync(file, text);
    return file;
  };

  it('replaces the defaults', () => {
    const rules = loadRoutes(write('rules:\n  - { severities: [critical], channels: [email] }\n'));
    expect(route(rules, { event: 'message', severity: 'critical', level: 1, storm: false })).toEqual([
      'email',
    ]);
    expect(route(rules, { event: 'incident_opened', severity: 'info', level: 3, storm: false })).toEqual([]);
  });

  it('names the file and the problem when a rule is wrong', () => {
    const file = write('rules:\n  - { events: [paged], channels: [sms] }\n');
    expect(() => loadRoutes(file)).toThrow(ConfigFileError);
    expect(() => loadRoutes(file)).toThrow(/NOTIFIER_ROUTES_FILE/);
    expect(() => loadRoutes(file)).toThrow(new RegExp(`${file}:2:\\d+: rules\\.0\\.events\\.0: `));
    const broken = write('rules: [\n');
    expect(() => loadRoutes(broken)).toThrow(ConfigFileError);
    expect(() => loadRoutes(broken)).toThrow(/NOTIFIER_ROUTES_FILE/);
    expect(() => loadRoutes(broken)).toThrow(new RegExp(`^${broken}:2:\\d+: `));
  });
});
