import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { PolicyFile } from '../../services/executor/policy.js';
import { openTestRedis, type TestRedis } from '../support/redis.js';
import { fleetTargets, type SshTestFleet, startSshFleet } from '../support/ssh-hosts.js';
import { DemoService, type Stack, startStack, tempDir } from './stack.js';

export const DEMO_SERVICE = 'demo-api';

export const SERVICE_DOWN_RULES = [
  {
    name: 'fleet',
    rules: [
      {
        alert: 'ServiceDown',
        expr: `up{job="${DEMO_SERVICE}"} == 0`,
        labels: { severity: 'critical', service: DEMO_SERVICE },
        annotations: { summary: `${DEMO_SERVICE} is down on {{ $labels.instance }}` },
      },
    ],
  },
];

export interface SshStack {
  t: TestRedis;
  fleet: SshTestFleet;
  /** The demo service on each host, listening on the host's own address. */
  demos: DemoService[];
  stack: Stack;
  stop(): Promise<void>;
}

/**
 * Real sshd hosts, each running the demo service on its own address (scraped by a real Prometheus
 * as job demo-api), and the whole pipeline with ssh targets for the hosts listed in `targeted`
 * (indexes; the others have no target). Each host's helper restarts its demo with demo-ctl.
 */
export async function startSshStack(options: {
  hosts: number;
  targeted: number[];
  policyEdit?: (policy: PolicyFile) => void;
  /** A Redis of the caller's (the bench's); default: the test suite's. */
  redis?: TestRedis;
}): Promise<SshStack> {
  const t = options.redis ?? (await openTestRedis());
  const dir = tempDir();
  const fleet = await startSshFleet({ hosts: options.hosts, units: [DEMO_SERVICE] });
  const demos: DemoService[] = [];
  for (const host of fleet.hosts) {
    const demo = await DemoService.create(DEMO_SERVICE, join(host.dir, 'units'), host.address);
    demos.push(demo);
    const conf = join(host.dir, 'remote.conf');
    const lines = readFileSync(conf, 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith('restart =') && !line.startsWith(`log_file.${DEMO_SERVICE} =`));
    lines.push(`restart = ${demo.restartArgv().join(' ').replace('{service}', '{unit}')}`);
    lines.push(`log_file.${DEMO_SERVICE} = ${demo.logFile}`);
    writeFileSync(conf, `${lines.join('\n')}\n`);
  }
  const targetsFile = join(dir.path, 'targets.yaml');
  writeFileSync(
    targetsFile,
    stringify({
      version: 1,
      targets: fleetTargets(
        fleet,
        options.targeted.map((index) => {
          const host = fleet.hosts[index];
          if (!host) throw new Error(`no host ${index}`);
          return host;
        }),
      ),
    }),
  );
  const stack = await startStack(t, {
    demo: demos[0] as DemoService,
    dir: dir.path,
    ruleGroups: SERVICE_DOWN_RULES,
    scrape: { [DEMO_SERVICE]: demos.map((demo) => demo.target) },
    targetsFile,
    policyEdit: options.policyEdit,
    triageEnv: { PLANNER: 'runbook' },
  });
  return {
    t,
    fleet,
    demos,
    stack,
    async stop() {
      await stack.stop();
      for (const demo of demos) demo.stop();
      await fleet.stop();
      dir.remove();
      if (!options.redis) await t.close();
    },
  };
}

/** What Prometheus last scraped for one demo: '1' up, '0' down, undefined not yet scraped. */
export async function demoUp(stack: Stack, demo: DemoService): Promise<string | undefined> {
  const query = encodeURIComponent(`up{job="${DEMO_SERVICE}",instance="${demo.target}"}`);
  const res = await fetch(`${stack.monitoring.prometheusUrl}/api/v1/query?query=${query}`);
  const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
  return body.data.result[0]?.value[1];
}
