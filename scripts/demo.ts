/**
 * `npm run demo`: a fleet fixed end to end on this machine. Two SSH "VMs" on loopback (own sshd,
 * the hermes-remote helper, a demo service), Prometheus and Alertmanager when installed, and
 * Hermes in live mode acting on those VMs only. It kills the demo service on one VM and prints the
 * incident as Hermes diagnoses, restarts and verifies it, with the console URL.
 *
 *   npm run demo               stays up after the fix (Ctrl-C stops it and cleans up)
 *   npm run demo -- --once     exits 0 once the fix is verified, 1 otherwise (CI)
 *
 * Everything lives in one temp directory and is removed on exit, Ctrl-C and errors.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { executorEnvSchema } from '../services/executor/env.js';
import { startExecutor } from '../services/executor/service.js';
import { ingestEnvSchema } from '../services/ingest/env.js';
import { startIngest } from '../services/ingest/service.js';
import { notifierEnvSchema } from '../services/notifier/env.js';
import { startNotifier } from '../services/notifier/service.js';
import { triageEnvSchema } from '../services/triage/env.js';
import { startTriage } from '../services/triage/service.js';
import { parseEnv } from '../shared/env.js';
import { createLogger } from '../shared/logger.js';
import { MONITORING_INSTALL_HINT, startMonitoring } from '../test/support/monitoring.js';
import { freePort, redisServerBinary, startRedisServer } from '../test/support/redis-server.js';
import { startAlertSource } from './demo/alert-source.js';
import { followIncident, waitForIncident } from './demo/follow.js';
import { DEMO_SERVICE, type DemoVm, fleetTargets, startDemoFleet } from './demo/vms.js';

const ONCE = process.argv.includes('--once');
/** Forces the stand-in alert source even where Prometheus is installed (to try, and to test, that path). */
const WITHOUT_MONITORING = process.argv.includes('--without-prometheus');
const DEADLINE_MS = 90_000;

const say = (text: string) => process.stdout.write(`[demo] ${text}\n`);
const cleanups: (() => Promise<void> | void)[] = [];
let cleaning: Promise<void> | undefined;

/** Undoes everything started so far, newest first; safe to call more than once. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const undo of cleanups.reverse()) {
      try {
        await undo();
      } catch (error) {
        say(`cleanup: ${(error as Error).message}`);
      }
    }
  })();
  return cleaning;
}

async function exit(code: number): Promise<never> {
  await cleanUp();
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping and cleaning up`);
    void exit(0);
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hermes-demo-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  say(`working in ${dir} (removed on exit)`);

  if (!redisServerBinary()) throw new Error('redis-server is missing: apt-get install -y redis-server');
  const redis = await startRedisServer();
  cleanups.push(() => redis.stop());

  const fleet = await startDemoFleet(dir, 2);
  cleanups.push(() => fleet.stop());
  for (const vm of fleet.vms)
    say(`${vm.name}: sshd on ${vm.address}:${vm.sshPort}, ${DEMO_SERVICE} on ${vm.serviceTarget}`);

  const targetsFile = join(dir, 'targets.yaml');
  writeFileSync(targetsFile, stringify(fleetTargets(fleet)));
  const token = randomBytes(16).toString('hex');
  const common = { REDIS_URL: redis.url, HERMES_PREFIX: 'demo', TARGETS_FILE: targetsFile };
  const logger = (name: string) => createLogger(name, 'error');

  const port = Number(process.env.PORT ?? 0) || (await freePort());
  const ingest = await startIngest(
    parseEnv(ingestEnvSchema, { ...common, HOST: '127.0.0.1', PORT: String(port), INGEST_TOKEN: token }),
    { logger: logger('ingest') },
  );
  cleanups.push(() => ingest.close());
  const webhookUrl = `${ingest.url}/webhooks/alertmanager`;

  const prometheusUrl = await startAlerting(fleet.vms, webhookUrl, token);

  const policyFile = resolve('config/policy.yaml');
  const executor = await startExecutor(
    parseEnv(executorEnvSchema, { ...common, EXECUTION_MODE: 'live', POLICY_FILE: policyFile }),
    { logger: logger('executor') },
  );
  cleanups.push(() => executor.close());
  const notifier = await startNotifier(parseEnv(notifierEnvSchema, common), { logger: logger('notifier') });
  cleanups.push(() => notifier.close());
  const triage = await startTriage(
    parseEnv(triageEnvSchema, {
      ...common,
      PLANNER: 'runbook',
      ...(prometheusUrl ? { PROMETHEUS_URL: prometheusUrl } : {}),
      VERIFY_WINDOW_SECONDS: '60',
      VERIFY_INTERVAL_MS: '1000',
    }),
    { logger: logger('triage') },
  );
  cleanups.push(() => triage.close());
  say(
    `Hermes is live (EXECUTION_MODE=live, runbook planner) on ${fleet.vms.map((vm) => vm.address).join(' and ')} only`,
  );
  say(`console: ${ingest.url}/ui`);

  const victim = fleet.vms[1] as DemoVm;
  await waitUntilUp(victim);
  const crashedAt = Date.now();
  victim.killService();
  say(`killed ${DEMO_SERVICE} on ${victim.name} (${victim.serviceTarget}); waiting for the alert…`);

  const deadline = crashedAt + DEADLINE_MS;
  const opened = await waitForIncident(ingest.url, victim.serviceTarget, deadline);
  say(`incident ${opened.id}: ${opened.alertname} on ${opened.instance}`);
  const ended = await followIncident(ingest.url, opened.id, crashedAt, deadline, say);
  const fixed = ended.timeline.some((entry) => entry.type === 'summary' && entry.verified === true);
  const requests = readFileSync(victim.requestLog, 'utf8').trim().split('\n').filter(Boolean);
  say(`${victim.name}'s helper logged ${requests.length} request(s):`);
  for (const request of requests) say(`  ${request}`);
  say(`incident: ${ingest.url}/ui/incidents/${ended.id}`);
  if (!fixed) {
    say(`not fixed: the incident ended ${ended.status}`);
    return exit(1);
  }
  say(`fixed and verified in ${((Date.now() - crashedAt) / 1000).toFixed(1)} s`);
  if (ONCE) return exit(0);
  say('still running so you can look around; Ctrl-C stops it and cleans up');
}

/** Prometheus and Alertmanager when installed, else the demo's own stand-in; Prometheus' URL or undefined. */
async function startAlerting(vms: DemoVm[], webhookUrl: string, token: string): Promise<string | undefined> {
  if (!WITHOUT_MONITORING) {
    try {
      const monitoring = await startMonitoring({
        scrape: { [DEMO_SERVICE]: vms.map((vm) => vm.serviceTarget) },
        ruleGroups: [
          {
            name: 'demo',
            rules: [
              {
                alert: 'ServiceDown',
                expr: `up{job="${DEMO_SERVICE}"} == 0`,
                labels: { severity: 'critical', service: DEMO_SERVICE },
                annotations: { summary: `${DEMO_SERVICE} is down on {{ $labels.instance }}` },
              },
            ],
          },
        ],
        webhookUrl,
        webhookToken: token,
      });
      cleanups.push(() => monitoring.stop());
      say(`Prometheus ${monitoring.prometheusUrl}, Alertmanager ${monitoring.alertmanagerUrl}`);
      return monitoring.prometheusUrl;
    } catch (error) {
      if (!/not found/.test((error as Error).message)) throw error;
      say(`Prometheus or Alertmanager is not installed (${MONITORING_INSTALL_HINT.replace(/^.*: /, '')}).`);
    }
  }
  say('the demo posts the alerts itself, in Alertmanager’s format; fixes are verified by their resolve');
  const source = startAlertSource(
    vms.map((vm) => vm.serviceTarget),
    webhookUrl,
    token,
  );
  cleanups.push(() => source.stop());
  return undefined;
}

async function waitUntilUp(vm: DemoVm): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const up = await fetch(`http://${vm.serviceTarget}/metrics`).then(
      (res) => res.ok,
      () => false,
    );
    if (up) return;
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`${DEMO_SERVICE} on ${vm.name} did not start`);
}

main().catch(async (error: Error) => {
  say(`failed: ${error.message}`);
  await exit(1);
});
