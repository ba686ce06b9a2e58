import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { IncidentStore } from '../../shared/incidents.js';
import type { Incident } from '../../shared/schemas/incident.js';
import { eventually, openTestRedis, type TestRedis } from '../support/redis.js';
import { type SshTestFleet, startSshFleet } from '../support/ssh-hosts.js';
import { DemoService, type Stack, startStack, tempDir } from './stack.js';

const SERVICE = 'demo-api';
const RULES = [
  {
    name: 'fleet',
    rules: [
      {
        alert: 'ServiceDown',
        expr: `up{job="${SERVICE}"} == 0`,
        labels: { severity: 'critical', service: SERVICE },
        annotations: { summary: `${SERVICE} is down on {{ $labels.instance }}` },
      },
    ],
  },
];

let t: TestRedis;
let dir: ReturnType<typeof tempDir>;
let fleet: SshTestFleet;
let demos: DemoService[];
let stack: Stack;

/**
 * Two real SSH hosts, each running the demo service on its own address. Host 2 is the only one
 * with a target (the fleet's first host has none): its crash is fixed over SSH, host 1 stays down.
 */
beforeAll(async () => {
  t = await openTestRedis();
  dir = tempDir();
  fleet = await startSshFleet({ hosts: 2, units: [SERVICE] });
  demos = [];
  for (const host of fleet.hosts) {
    const demo = await DemoService.create(SERVICE, join(host.dir, 'units'), host.address);
    demos.push(demo);
    // The host's helper restarts the demo with demo-ctl and reads the demo's own log file.
    const conf = join(host.dir, 'remote.conf');
    const lines = readFileSync(conf, 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith('restart =') && !line.startsWith(`log_file.${SERVICE} =`));
    lines.push(`restart = ${demo.restartArgv().join(' ').replace('{service}', '{unit}')}`);
    lines.push(`log_file.${SERVICE} = ${demo.logFile}`);
    writeFileSync(conf, `${lines.join('\n')}\n`);
  }
  const [, host2] = fleet.hosts;
  if (!host2) throw new Error('two hosts expected');
  await (demos[1] as DemoService).start();
  const targetsFile = join(dir.path, 'targets.yaml');
  writeFileSync(
    targetsFile,
    stringify({
      version: 1,
      targets: [
        {
          name: 'host-2',
          match: { instance: `${host2.address.replaceAll('.', '\\.')}:\\d+` },
          kind: 'ssh',
          ssh: {
            port: host2.port,
            user: 'root',
            knownHosts: fleet.knownHostsPath,
            keys: { read: fleet.readKeyPath, write: fleet.writeKeyPath },
          },
        },
      ],
    }),
  );
  stack = await startStack(t, {
    demo: demos[1] as DemoService,
    dir: dir.path,
    ruleGroups: RULES,
    scrape: { [SERVICE]: demos.map((demo) => demo.target) },
    targetsFile,
    triageEnv: { PLANNER: 'runbook', TARGETS_FILE: targetsFile },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  for (const demo of demos ?? []) demo.stop();
  await fleet?.stop();
  dir?.remove();
  await t?.close();
});

async function up(demo: DemoService): Promise<string | undefined> {
  const query = encodeURIComponent(`up{job="${SERVICE}",instance="${demo.target}"}`);
  const res = await fetch(`${stack.monitoring.prometheusUrl}/api/v1/query?query=${query}`);
  const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
  return body.data.result[0]?.value[1];
}

describe('end to end over SSH: real Prometheus, Alertmanager and sshd hosts', () => {
  it('host 2 crashes → alert → restarted on host 2 over SSH → its own series recovers → resolved; host 1 stays down, breaker closed', async () => {
    const [demo1, demo2] = demos as [DemoService, DemoService];
    const [host1, host2] = fleet.hosts as [SshTestFleet['hosts'][0], SshTestFleet['hosts'][0]];
    const store = new IncidentStore(t.redis, t.keys);
    await eventually(
      async () => (await up(demo2)) === '1' && (await up(demo1)) === '0',
      'Prometheus to see host 2 up and host 1 down',
      30_000,
    );
    const findIncident = async (instance: string) =>
      (await store.list({ limit: 20 })).incidents.find((i) => i.instance === instance);
    // Host 1 is down and has no target: its incident escalates, nothing runs there.
    const host1Incident = await eventually(
      async () => {
        const found = await findIncident(demo1.target);
        return found && found.status === 'escalated' ? found : null;
      },
      'host 1 incident to escalate',
      60_000,
    );

    const oldPid = demo2.pid();
    const crashedAt = Date.now();
    demo2.crash();
    const opened = await eventually(() => findIncident(demo2.target), 'host 2 incident', 60_000);
    const restarted = await eventually(
      async () =>
        (await store.get(opened.id))?.actions.find(
          (a) => a.tool === 'restart_service' && a.decision === 'executed',
        ),
      'the restart on host 2',
      60_000,
    );
    const resolved: Incident = await eventually(
      async () => {
        const incident = await store.get(opened.id);
        // Alertmanager's resolve may close it before triage's verdict lands: wait for both.
        const verified = incident?.timeline.some((e) => e.type === 'summary' && e.verified !== undefined);
        return incident?.status === 'resolved' && verified ? incident : null;
      },
      'host 2 incident resolved and verified',
      90_000,
    );
    console.log(
      `[e2e ssh] crash→incident ${Date.parse(opened.createdAt) - crashedAt} ms, crash→restart ${
        Date.parse(restarted.at) - crashedAt
      } ms, crash→resolved ${Date.parse(resolved.updatedAt) - crashedAt} ms`,
    );

    expect(restarted.reason).toBe(`ran: restart ${SERVICE} on ${host2.address} via ssh`);
    expect(demo2.pid()).not.toBe(oldPid);
    expect(await up(demo2)).toBe('1');
    // Verified on host 2's own series while host 1's series of the same rule still matches.
    const verdict = resolved.timeline.find((e) => e.type === 'summary' && e.verified === true);
    expect(verdict?.message).toMatch(
      /no longer matches this alert's series \(1 other series of the rule still match/,
    );
    expect(await up(demo1)).toBe('0');
    expect((await store.get(host1Incident.id))?.actions.filter((a) => a.decision === 'executed')).toEqual([]);
    const host1Restarts =
      readFileSync(join(host1.dir, 'sshd.log'), 'utf8').match(/Accepted publickey/g) ?? [];
    expect(host1Restarts).toEqual([]);
    // The breaker stayed closed: no failure or ineffective fix was counted.
    expect(await t.redis.zcard(t.keys.exec('breaker:failures'))).toBe(0);
    expect(await t.redis.hget(t.keys.exec('breaker'), 'state')).not.toBe('open');
  });
});
