import { describe, expect, it } from 'vitest';
import { topologyLabelsSchema } from '../../shared/targets/drivers/topology.js';
import { describeScope, locate, scopeOf } from '../../shared/targets/scope.js';
import {
  describePlacement,
  describePlacementShort,
  parseTargets,
  TargetsError,
} from '../../shared/targets/targets.js';

const FLEET = `
version: 1
targets:
  - name: docker-1
    match: { container: ".+", instance: "docker-1(:\\\\d+)?" }
    kind: docker
    docker: { socketPath: /var/run/docker.sock }
  - name: vms
    match: { instance: "api-server-\\\\d+(:\\\\d+)?" }
    kind: ssh
    ssh:
      user: hermes
      knownHosts: /etc/hermes/known_hosts
      keys: { read: /k/read, write: /k/write }
  - name: here
    match: { instance: "localhost:.*" }
    kind: local
`;

const targets = parseTargets(FLEET, 'targets.yaml');
const alert = (labels: Record<string, string>) => ({ alertname: 'ServiceDown', ...labels });

describe('targets', () => {
  it('places an alert on the first target whose anchored matchers all match', () => {
    expect(targets.place(alert({ instance: 'api-server-03:9100', service: 'api-gateway' }))).toEqual({
      ok: true,
      placement: {
        target: 'vms',
        kind: 'ssh',
        host: 'api-server-03',
        instance: 'api-server-03:9100',
        resource: 'api-gateway',
        region: 'unknown',
        zone: 'unknown',
      },
    });
    // Anchored: a longer instance does not match the vms pattern.
    expect(targets.place(alert({ instance: 'evil-api-server-03.example:9100' })).ok).toBe(false);
    expect(targets.place(alert({ instance: 'docker-1:9323', container: 'web-1' }))).toMatchObject({
      ok: true,
      placement: { target: 'docker-1', kind: 'docker', resource: 'web-1' },
    });
    expect(targets.place(alert({ instance: 'localhost:9100', job: 'node' }))).toMatchObject({
      ok: true,
      placement: { target: 'here', kind: 'local', host: 'localhost', resource: 'node' },
    });
  });

  it('gives an alert no target when nothing matches, saying why', () => {
    const result = targets.place(alert({ instance: 'db-9:9100', service: 'postgres' }));
    expect(result).toEqual({
      ok: false,
      reason:
        'no target in TARGETS_FILE matches alertname="ServiceDown", instance="db-9:9100", service="postgres"',
    });
  });

  it('refuses rendered names that are not unit or host names', () => {
    const result = targets.place(alert({ instance: 'api-server-01:9100', service: 'api; rm -rf /' }));
    expect(result).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not a valid unit or container name'),
    });
  });

  it('reports a bad file with its line and the problem', () => {
    expect(() =>
      parseTargets('version: 1\ntargets:\n  - name: x\n    kind: ssh\n    ssh: { user: hermes }\n', 't.yaml'),
    ).toThrow(TargetsError);
    expect(() =>
      parseTargets(
        'version: 1\ntargets:\n  - name: x\n    kind: local\n    match: { instance: "(" }\n',
        't.yaml',
      ),
    ).toThrow(/t\.yaml:5:\d+: targets\.0\.match\.instance: /);
    expect(() =>
      parseTargets(
        'version: 1\ntargets:\n  - name: x\n    kind: local\n    resource: "{{nope}}"\n',
        't.yaml',
      ),
    ).toThrow(/unknown placeholder \{\{nope\}\}/);
    expect(() =>
      parseTargets(
        'version: 1\ntargets:\n  - { name: x, kind: local }\n  - { name: x, kind: local }\n',
        't.yaml',
      ),
    ).toThrow(/duplicate target name x/);
  });
});

describe('topology', () => {
  const TOPOLOGY = `
version: 1
targets:
  - name: eu
    match: { instance: "eu-.*" }
    kind: ssh
    topology: { region: eu-west, zone: "{{labels.az}}" }
    ssh:
      user: hermes
      knownHosts: /etc/hermes/known_hosts
      keys: { read: /k/read, write: /k/write }
  - name: rest
    match: { instance: ".*" }
    kind: local
`;

  it('takes region and zone from the target, else the alert labels, else unknown', () => {
    const fleet = parseTargets(TOPOLOGY, 'targets.yaml');
    expect(fleet.place(alert({ instance: 'eu-3:9100', service: 'api-gateway', az: 'b' }))).toMatchObject({
      placement: { region: 'eu-west', zone: 'b' },
    });
    // The target's template names a label the alert lacks: unknown, never an error.
    expect(fleet.place(alert({ instance: 'eu-3:9100', service: 'api-gateway', zone: 'c' }))).toMatchObject({
      ok: true,
      placement: { region: 'eu-west', zone: 'unknown' },
    });
    expect(fleet.place(alert({ instance: 'x:1', job: 'node', region: 'us-east', zone: 'a' }))).toMatchObject({
      placement: { region: 'us-east', zone: 'a' },
    });
    expect(fleet.place(alert({ instance: 'x:1', job: 'node' }))).toMatchObject({
      placement: { region: 'unknown', zone: 'unknown' },
    });
    // Values are data: control characters dropped, length bounded.
    expect(
      fleet.place(
        alert({ instance: 'x:1', job: 'node', region: 'eu\nFAKE LINE\u001b[31m', zone: 'z'.repeat(100) }),
      ),
    ).toMatchObject({ placement: { region: 'euFAKE LINE[31m', zone: 'z'.repeat(64) } });
  });

  it('reads the labels TOPOLOGY_LABELS names', () => {
    const labels = topologyLabelsSchema.parse('dc,rack');
    const fleet = parseTargets(TOPOLOGY, 'targets.yaml', undefined, labels);
    expect(
      fleet.place(alert({ instance: 'x:1', job: 'node', dc: 'fra', rack: 'r7', region: 'no' })),
    ).toMatchObject({
      placement: { region: 'fra', zone: 'r7' },
    });
    expect(topologyLabelsSchema.safeParse('region,zone,rack').success).toBe(false);
    expect(topologyLabelsSchema.safeParse('re gion').success).toBe(false);
  });

  it('says where a place is in its description', () => {
    const fleet = parseTargets(TOPOLOGY, 'targets.yaml');
    const placed = fleet.place(alert({ instance: 'eu-3:9100', service: 'api-gateway', az: 'a' }));
    if (!placed.ok) throw new Error(placed.reason);
    expect(describePlacement(placed.placement)).toBe('api-gateway on eu-3 (eu-west/a) via ssh (target eu)');
    expect(describePlacementShort(placed.placement)).toBe('api-gateway on eu-3 (eu-west/a) (ssh)');
  });

  it('refuses a topology with an unknown placeholder or key', () => {
    const bad = (topology: string) =>
      `version: 1\ntargets:\n  - name: x\n    kind: local\n    topology: ${topology}\n`;
    expect(() => parseTargets(bad('{ region: "{{nope}}" }'), 't.yaml')).toThrow(
      /t\.yaml:5:\d+: .*unknown placeholder \{\{nope\}\}/,
    );
    expect(() => parseTargets(bad('{ continent: eu }'), 't.yaml')).toThrow(/t\.yaml:5:\d+: /);
  });
});

describe('incident scope', () => {
  const scope = scopeOf(targets, [
    alert({ instance: 'api-server-02:9100', service: 'api-gateway' }),
    alert({ instance: 'api-server-02:9100', service: 'api-gateway' }),
    alert({ instance: 'api-server-03:9100', service: 'worker' }),
  ]);

  it('is the distinct (target, host, resource) places the alerts name', () => {
    expect(describeScope(scope)).toBe(
      'api-gateway on api-server-02 via ssh (target vms); worker on api-server-03 via ssh (target vms)',
    );
  });

  it('locates a request only inside the scope', () => {
    expect(locate(scope, { host: 'api-server-02', resource: 'api-gateway' })).toMatchObject({
      ok: true,
      placement: { host: 'api-server-02', resource: 'api-gateway' },
    });
    // The instance, with or without its port, names the same host.
    expect(locate(scope, { host: 'api-server-03:9100', resource: 'worker' }).ok).toBe(true);
    expect(locate(scope, { resource: 'worker' }).ok).toBe(true);
    expect(locate(scope, { host: 'api-server-01', resource: 'api-gateway' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^out of scope: service api-gateway on host api-server-01 is not named/),
    });
    expect(locate(scope, { host: 'api-server-02', resource: 'sshd' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('out of scope'),
    });
    expect(locate(scope, {})).toMatchObject({ ok: false, reason: expect.stringContaining('ambiguous') });
  });

  it('has nothing to act on when no alert has a target', () => {
    const none = scopeOf(targets, [alert({ instance: 'db-9:9100' })]);
    expect(locate(none, { resource: 'postgres' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^no target for this incident: no target in TARGETS_FILE matches/),
    });
  });
});
