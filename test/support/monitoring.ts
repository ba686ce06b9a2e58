import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { collectOutput } from './output.js';
import { freePort } from './redis-server.js';

export const MONITORING_INSTALL_HINT =
  'The end-to-end tests need real Prometheus and Alertmanager: apt-get install -y prometheus prometheus-alertmanager';

/** Debian names Alertmanager's binary prometheus-alertmanager; upstream tarballs call it alertmanager. */
function findBinary(candidates: string[]): string {
  for (const name of candidates) {
    try {
      execFileSync(name, ['--version'], { stdio: 'ignore' });
      return name;
    } catch {
      // try the next name
    }
  }
  throw new Error(`${candidates.join(' or ')} not found. ${MONITORING_INSTALL_HINT}`);
}

export interface Running {
  url: string;
  process: ChildProcess;
  output(): string;
}

async function launch(binary: string, args: string[], readyUrl: string, url: string): Promise<Running> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collectOutput(child);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${binary} exited: ${output().slice(-2000)}`);
    try {
      if ((await fetch(readyUrl)).ok) return { url, process: child, output };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${binary} not ready at ${readyUrl}: ${output().slice(-2000)}`);
}

export interface MonitoringOptions {
  /** Prometheus scrape targets: job name → host:port list. */
  scrape: Record<string, string[]>;
  /** Prometheus alerting rule groups (the `groups:` list of a rule file). */
  ruleGroups: unknown[];
  /** Where Alertmanager posts, and with which bearer token. */
  webhookUrl: string;
  webhookToken?: string;
}

export interface Monitoring {
  prometheusUrl: string;
  alertmanagerUrl: string;
  stop(): Promise<void>;
}

export interface AlertmanagerOptions {
  /** Without one, the receiver has no integrations: Alertmanager accepts and groups, sends nothing. */
  webhookUrl?: string;
  webhookToken?: string;
  port?: number;
  dir?: string;
  /**
   * `fast` (1 s group_wait and group_interval: tests see notifications quickly) or Alertmanager's own
   * defaults (30 s, 5 m, 4 h), under which it does not flush every group every second.
   */
  groupTimers?: 'fast' | 'defaults';
}

const GROUP_TIMERS = {
  fast: { group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
  defaults: { group_wait: '30s', group_interval: '5m', repeat_interval: '4h' },
};

/** A real Alertmanager on a loopback port, posting every group to `webhookUrl` (after 1 s unless told otherwise). */
export async function startAlertmanager(options: AlertmanagerOptions): Promise<Running> {
  const alertmanagerBin = findBinary(['prometheus-alertmanager', 'alertmanager']);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'hermes-alertmanager-'));
  const amPort = options.port ?? (await freePort());
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    stringify({
      route: {
        receiver: 'hermes',
        group_by: ['alertname', 'service', 'instance'],
        ...GROUP_TIMERS[options.groupTimers ?? 'fast'],
      },
      receivers: [
        options.webhookUrl
          ? {
              name: 'hermes',
              webhook_configs: [
                {
                  url: options.webhookUrl,
                  send_resolved: true,
                  ...(options.webhookToken
                    ? {
                        http_config: { authorization: { type: 'Bearer', credentials: options.webhookToken } },
                      }
                    : {}),
                },
              ],
            }
          : { name: 'hermes' },
      ],
    }),
  );
  return launch(
    alertmanagerBin,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
    ],
    `http://127.0.0.1:${amPort}/-/ready`,
    `http://127.0.0.1:${amPort}`,
  );
}

/**
 * Real Prometheus and Alertmanager on free loopback ports, tuned for tests: 1 s scrape and rule
 * evaluation, `--rules.alert.resend-delay=1s`, 1 s group_wait/group_interval, resolved alerts sent.
 */
export async function startMonitoring(options: MonitoringOptions): Promise<Monitoring> {
  const prometheusBin = findBinary(['prometheus']);
  const dir = mkdtempSync(join(tmpdir(), 'hermes-monitoring-'));
  const [promPort, amPort] = [await freePort(), await freePort()];

  writeFileSync(join(dir, 'rules.yml'), stringify({ groups: options.ruleGroups }));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '900ms' },
      rule_files: [join(dir, 'rules.yml')],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
      scrape_configs: Object.entries(options.scrape).map(([job, targets]) => ({
        job_name: job,
        static_configs: [{ targets }],
      })),
    }),
  );

  const alertmanager = await startAlertmanager({ ...options, port: amPort, dir });
  let prometheus: Running;
  try {
    prometheus = await launch(
      prometheusBin,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'prom-data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--rules.alert.resend-delay=1s',
        '--rules.alert.for-grace-period=1s',
      ],
      `http://127.0.0.1:${promPort}/-/ready`,
      `http://127.0.0.1:${promPort}`,
    );
  } catch (error) {
    alertmanager.process.kill('SIGKILL');
    throw error;
  }

  return {
    prometheusUrl: prometheus.url,
    alertmanagerUrl: alertmanager.url,
    async stop() {
      for (const running of [prometheus, alertmanager]) {
        if (running.process.exitCode !== null) continue;
        const exited = new Promise((resolve) => running.process.once('exit', resolve));
        running.process.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
