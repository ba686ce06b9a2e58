import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { executorEnvSchema } from '../../services/executor/env.js';
import type { PolicyFile } from '../../services/executor/policy.js';
import { startExecutor } from '../../services/executor/service.js';
import { ingestEnvSchema } from '../../services/ingest/env.js';
import { type IngestHandle, startIngest } from '../../services/ingest/service.js';
import { notifierEnvSchema } from '../../services/notifier/env.js';
import { startNotifier } from '../../services/notifier/service.js';
import { triageEnvSchema } from '../../services/triage/env.js';
import { startTriage } from '../../services/triage/service.js';
import { parseEnv } from '../../shared/env.js';
import { createLogger } from '../../shared/logger.js';
import { type FakePagerDuty, startFakePagerDuty } from '../support/fake-pagerduty.js';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { type Monitoring, startMonitoring } from '../support/monitoring.js';
import type { TestRedis } from '../support/redis.js';
import { freePort } from '../support/redis-server.js';
import { LOCAL_TARGETS } from '../support/targets.js';

const here = import.meta.dirname;
const silent = () => createLogger('e2e', 'silent');

/** The demo service: a real process Prometheus scrapes, restarted by the executor through demo-ctl. */
export class DemoService {
  readonly pidFile: string;
  readonly logFile: string;
  private constructor(
    readonly name: string,
    readonly port: number,
    readonly dir: string,
    readonly address: string,
  ) {
    this.pidFile = join(dir, `${name}.pid`);
    this.logFile = join(dir, `${name}.log`);
    writeFileSync(
      join(dir, `${name}.json`),
      JSON.stringify({ port, logFile: this.logFile, pidFile: this.pidFile, address }),
    );
  }

  /** `address`: the loopback address it listens on (a test host's own, for the SSH fleet). */
  static async create(name: string, dir: string, address = '127.0.0.1'): Promise<DemoService> {
    return new DemoService(name, await freePort(), dir, address);
  }

  get target(): string {
    return `${this.address}:${this.port}`;
  }

  /** The argv the executor's policy runs to restart it (no shell). */
  restartArgv(): string[] {
    return [process.execPath, join(here, 'demo-ctl.mjs'), this.dir, 'restart', '{service}'];
  }

  async start(): Promise<void> {
    await run(this.restartArgv().map((a) => (a === '{service}' ? this.name : a)));
  }

  pid(): number {
    return Number(readFileSync(this.pidFile, 'utf8'));
  }

  crash(): void {
    process.kill(this.pid(), 'SIGKILL');
  }

  stop(): void {
    try {
      process.kill(this.pid(), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function run(argv: string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child: ChildProcess = spawn(argv[0] as string, argv.slice(1), { stdio: 'ignore' });
    child.once('exit', (code) => (code === 0 ? done() : fail(new Error(`${argv.join(' ')} exited ${code}`))));
  });
}

export interface Stack {
  ingest: IngestHandle;
  monitoring: Monitoring;
  slack: FakeSlack;
  pagerduty: FakePagerDuty;
  dir: string;
  stop(): Promise<void>;
}

export interface StackOptions {
  demo: DemoService;
  dir: string;
  ruleGroups: unknown[];
  triageEnv: Record<string, string>;
  /** Prometheus scrape jobs; default: the demo service alone. */
  scrape?: Record<string, string[]>;
  /** Where incidents act; default: the local target, restarting the demo through demo-ctl. */
  targetsFile?: string;
  /** Changes to the shipped policy (after the demo's restart command is set). */
  policyEdit?: ((policy: PolicyFile) => void) | undefined;
}

/**
 * The whole pipeline for real: ingest, triage, executor and notifier on one Redis; Prometheus and
 * Alertmanager from the machine's packages; fake Slack and PagerDuty speaking their wire formats.
 */
export async function startStack(t: TestRedis, options: StackOptions): Promise<Stack> {
  const common = {
    REDIS_URL: t.url,
    HERMES_PREFIX: t.prefix,
    LOG_LEVEL: 'silent',
    TARGETS_FILE: options.targetsFile ?? LOCAL_TARGETS,
  };
  const token = 'e2e-ingest-token';
  const slack = await startFakeSlack();
  const pagerduty = await startFakePagerDuty();

  const policy = parse(readFileSync(resolve('config/policy.yaml'), 'utf8'));
  policy.tools.restart_service.backend.argv = options.demo.restartArgv();
  options.policyEdit?.(policy);
  const policyFile = join(options.dir, 'policy.yaml');
  writeFileSync(policyFile, stringify(policy));
  const routesFile = join(options.dir, 'routes.yaml');
  writeFileSync(
    routesFile,
    stringify({
      rules: [
        { severities: ['critical'], events: ['incident_opened'], channels: ['pagerduty', 'slack'] },
        { events: ['action', 'fixed', 'resolved', 'escalated', 'failed'], channels: ['pagerduty', 'slack'] },
      ],
    }),
  );

  const ingest = await startIngest(
    parseEnv(ingestEnvSchema, { ...common, PORT: '0', HOST: '127.0.0.1', INGEST_TOKEN: token }),
    { logger: silent() },
  );
  const monitoring = await startMonitoring({
    scrape: options.scrape ?? { [options.demo.name]: [options.demo.target] },
    ruleGroups: options.ruleGroups,
    webhookUrl: `${ingest.url}/webhooks/alertmanager`,
    webhookToken: token,
  });
  const executor = await startExecutor(
    parseEnv(executorEnvSchema, { ...common, EXECUTION_MODE: 'live', POLICY_FILE: policyFile }),
    {
      logger: silent(),
    },
  );
  const notifier = await startNotifier(
    parseEnv(notifierEnvSchema, {
      ...common,
      SLACK_BOT_TOKEN: slack.token,
      SLACK_CHANNEL: slack.channel,
      SLACK_API_URL: slack.apiUrl,
      PAGERDUTY_ROUTING_KEY: pagerduty.routingKey,
      PAGERDUTY_EVENTS_URL: pagerduty.eventsUrl,
      NOTIFIER_ROUTES_FILE: routesFile,
    }),
    { logger: silent() },
  );
  const triage = await startTriage(
    parseEnv(triageEnvSchema, {
      ...common,
      PROMETHEUS_URL: monitoring.prometheusUrl,
      LOG_DIR: options.dir,
      VERIFY_WINDOW_SECONDS: '60',
      VERIFY_INTERVAL_MS: '1000',
      ...options.triageEnv,
    }),
    { logger: silent() },
  );

  return {
    ingest,
    monitoring,
    slack,
    pagerduty,
    dir: options.dir,
    async stop() {
      await triage.close();
      await executor.close();
      await notifier.close();
      await monitoring.stop();
      await ingest.close();
      await slack.close();
      await pagerduty.close();
    },
  };
}

export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'hermes-e2e-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
