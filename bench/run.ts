/**
 * `npm run bench`: starts its own Redis, Alertmanager and services, prints one table and writes it to
 * BENCHMARKS.md. Figures are ratios measured within one run: these machines are noisy.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { benchExecutorDecisions } from './executor-decisions.js';
import { benchFleetStorm } from './fleet-storm.js';
import { benchIngestHeap } from './ingest-heap.js';
import { benchIngestThroughput, INGEST_LOAD } from './ingest-throughput.js';
import { benchRecovery } from './recovery.js';
import { benchRemoteActions } from './remote-actions.js';
import { benchStorm } from './storm.js';
import { benchTriageScaling } from './triage-scaling.js';
import { benchVerificationPickup } from './verification-pickup.js';

const f = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function version(binary: string): string {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8' }).split('\n')[0]?.trim() ?? '?';
  } catch {
    return 'not found';
  }
}

const rows: string[][] = [];
const ingest = await benchIngestThroughput();
const rounds = (name: 'hermes' | 'alertmanager' | 'ceiling') =>
  `rounds ${ingest.rounds.map((r) => f(r[name])).join(' / ')}`;
rows.push(
  [
    'ingest: Hermes webhook (alerts/s), Redis appendfsync always',
    f(ingest.hermes.alertsPerSecond),
    `p50 ${f(ingest.hermes.p50Ms, 1)} ms, p99 ${f(ingest.hermes.p99Ms, 1)} ms, ${ingest.hermes.errors} errors; ${rounds('hermes')}; CPU per request: ingest ${f(ingest.cpuPerRequest.ingest, 2)} ms + Redis ${f(ingest.cpuPerRequest.redis, 2)} ms (load generator ${f(ingest.cpuPerRequest.loadHermes, 2)} ms); machine ${f(100 * ingest.machineBusy.hermes)} % busy`,
  ],
  [
    'ingest: where a webhook’s time goes (mean ms in ingest)',
    f(ingest.ingestTime.webhookMs, 2),
    `headers read → 202 sent, from ingest’s /metrics; of which ${f(ingest.ingestTime.scriptMs, 2)} ms from sending its intake script to Redis until ingest handled the reply (${f(ingest.ingestTime.scriptsPerWebhook, 2)} scripts per webhook; the rest were answered from memory). The ingest process kept ${f(100 * ingest.ingestTime.cores)} % of a core busy: requests mostly wait for its one thread, replies from Redis included`,
  ],
  [
    'ingest: Alertmanager /api/v2/alerts (alerts/s), receiver without integrations, default group timers',
    f(ingest.alertmanager.alertsPerSecond),
    `p50 ${f(ingest.alertmanager.p50Ms, 1)} ms, p99 ${f(ingest.alertmanager.p99Ms, 1)} ms, ${ingest.alertmanager.errors} errors; ${rounds('alertmanager')}; CPU per request: ${f(ingest.cpuPerRequest.alertmanager, 2)} ms (load generator ${f(ingest.cpuPerRequest.loadAlertmanager, 2)} ms); machine ${f(100 * ingest.machineBusy.alertmanager)} % busy`,
  ],
  [
    'ingest: Hermes / Alertmanager',
    `${f(ingest.ratio, 2)}×`,
    `target ≥ 2×; batches of ${INGEST_LOAD.batch} (half duplicates), ${INGEST_LOAD.connections} connections, ${f(INGEST_LOAD.alerts)} new alerts per round, median of ${INGEST_LOAD.rounds} alternating rounds after ${f(INGEST_LOAD.warmup)} warm-up alerts each (a fresh Node process is still optimising its per-request code before that)`,
  ],
  [
    'ingest: Hermes / Alertmanager if both kept the machine busy (CPU per request)',
    `${f(ingest.cpuBoundRatio, 2)}×`,
    `what the ratio tends to as both saturate the ${cpus().length} cores: Alertmanager + its load generator over ingest + Redis + its load generator, per request; 2× needs Hermes at ≤ ${f((ingest.cpuPerRequest.alertmanager + ingest.cpuPerRequest.loadAlertmanager) / 2 - ingest.cpuPerRequest.loadHermes, 2)} ms per request (ingest + Redis)`,
  ],
  [
    'ingest ceiling: body read + JSON.parse + zod, nothing stored (alerts/s)',
    f(ingest.ceiling.alertsPerSecond),
    `${f(ingest.ceiling.alertsPerSecond / ingest.alertmanager.alertsPerSecond, 2)}× Alertmanager; the most a Node webhook validating with zod does here before storing anything; ${rounds('ceiling')}`,
  ],
);

const storm = await benchStorm();
rows.push(
  [
    'storm: alerts accepted in the storm',
    `${f(storm.alertsAccepted)} / ${f(storm.alertsSent)}`,
    `500 services × 4 alertnames × 5 pods, paced over ${f(storm.sendSeconds, 1)} s in batches of 100; POST p99 ${f(storm.postP99Ms, 1)} ms, ${storm.errors} errors`,
  ],
  [
    'storm: investigations started',
    f(storm.investigations),
    `${f(storm.distinctCorrelated)} distinct correlated incidents; ${f(storm.incidentsOpened)} incidents opened (storm threshold ${storm.stormThreshold}/60 s, then at most STORM_TRIAGE_BUDGET=${storm.triageBudget} critical ones per storm, while fewer than that wait)`,
  ],
  [
    'storm: investigations per 1,000 alerts',
    f(storm.investigationsPer1000, 1),
    'lower is better; runbook planner, executor in dry-run',
  ],
  [
    'storm: triage queue peak (waiting)',
    f(storm.maxTriageQueued),
    `sampled every 50 ms; bounded by threshold + budget = ${storm.stormThreshold + storm.triageBudget}`,
  ],
  [
    'storm: critical level-1 alert → triage worker picks it up',
    storm.probePickupMs === null ? 'not picked up' : `${f(storm.probePickupMs)} ms`,
    'one new ServiceDown (critical) posted halfway through the storm; target ≤ 1,000 ms',
  ],
  [
    'storm: ingest RSS before / peak / after (MiB)',
    `${f(storm.rssBeforeMiB)} / ${f(storm.rssPeakMiB)} / ${f(storm.rssAfterMiB)}`,
    'before = after a 5,000-alert warm-up on the same path',
  ],
  [
    'storm: ingest RSS after each of 8 more storms (MiB)',
    storm.rssAfterMoreMiB.map((m) => f(m)).join(' / '),
    '10,000 new alerts each, unpaced. RSS also holds what V8 and the allocator keep after collections: see the heap row for what ingest itself holds',
  ],
);

const heap = await benchIngestHeap();
rows.push([
  'ingest heap after a full GC, after each of 12 storms (MiB)',
  heap.map((m) => f(m, 1)).join(' / '),
  `10,000 new alerts per storm (120,000 in all); bounded by the recent-alert cache (DEDUP_CACHE_SIZE 50,000), which drops its older half at a time; max − min over the last 6: ${f(Math.max(...heap.slice(-6)) - Math.min(...heap.slice(-6)), 1)} MiB`,
]);

const executor = await benchExecutorDecisions({ learnedRule: true });
rows.push(
  [
    'executor: decision per action p50 / p99, with budgets and learned rules on',
    `${f(executor.p50Ms, 2)} / ${f(executor.p99Ms, 2)} ms`,
    `claim, policy + args, level, human stop, kill switch, placement, precheck, recurrence + learned rules (one rule in force for another resource), breaker, change budget, rate limits, record + audit, outcome notes; one at a time, dry-run (${Object.entries(
      executor.decisions,
    )
      .map(([decision, n]) => `${f(n)} ${decision}`)
      .join(
        ', ',
      )}); mean ${f(executor.meanMs, 2)} ms, of which ${f(executor.redisMs, 2)} ms waiting for Redis and ${f(executor.gcMs, 2)} ms in GC pauses; p99 of the decisions no GC pause overlapped (all but ${f(executor.duringGc)}): ${f(executor.p99WithoutGcMs, 2)} ms`,
  ],
  [
    'executor: Redis round trips per decision',
    f(executor.roundTrips, 2),
    `${f(executor.commands, 1)} commands; reads asked at once, a pipeline, a MULTI or a script count as one: ${executor.steps
      .filter((step) => step.trips >= 0.5)
      .map((step) => `${step.label} ×${f(step.trips, 1)}`)
      .join(', ')}`,
  ],
  [
    'executor: actions/s',
    f(executor.actionsPerSecond),
    `${f(executor.actions)} action jobs through one executor process (concurrency 4); in-process one at a time: ${f(executor.inProcessPerSecond)}/s`,
  ],
);

const remote = await benchRemoteActions();
const ms = (l: { p50Ms: number; p99Ms: number }) => `${f(l.p50Ms)} / ${f(l.p99Ms)} ms`;
rows.push(
  [
    'remote action over SSH, warm connection: p50 / p99',
    ms(remote.sshWarm),
    `\`restart UNIT\` through hermes-remote on a real sshd host (ssh2 client, pooled connection), ${remote.sshWarm.n} in a row; OpenSSH's own multiplexed client measured about the same here: sshd's session set-up is most of it`,
  ],
  [
    'remote action over SSH, cold connection: p50 / p99',
    ms(remote.sshCold),
    `a new connection (key exchange, pinned host key check, auth) per action, ${remote.sshCold.n} in a row`,
  ],
  [
    'remote action via Docker: p50 / p99',
    ms(remote.docker),
    `container restart through the Engine API on a real dockerd (unix socket), ${remote.docker.n} in a row`,
  ],
  [
    'executor: action job → outcome over SSH: p50 / p99',
    ms(remote.executorSsh),
    `a live executor process: decision (scope from the incident's alerts, limits, breaker, audit) and the restart on the host, ${remote.executorSsh.n} one at a time`,
  ],
  [
    `executor: actions/s across ${remote.fleet.targets} SSH targets`,
    f(remote.fleet.perSecond, 1),
    `${remote.fleet.actions} restarts (${remote.fleet.executed} seen on the hosts) in ${f(remote.fleet.seconds, 1)} s; one executor process, default concurrency 4, ${remote.fleet.targets} sshd hosts on this machine`,
  ],
);

const recovery = await benchRecovery();
rows.push(
  [
    'time to recovery: crash → Prometheus sees it down',
    ms(recovery.detection),
    `${recovery.cycles} crashes of a demo service on a real sshd host; scrape interval 1 s`,
  ],
  [
    'time to recovery: → incident in Hermes (rule, Alertmanager, webhook)',
    ms(recovery.alerting),
    'evaluation interval 1 s, Alertmanager group_wait 1 s (test timers; production defaults are slower)',
  ],
  [
    'time to recovery: Hermes, webhook → restart applied on the host',
    ms(recovery.hermes),
    'goal < 1,000 ms p99: triage (runbook: logs over SSH with the read key), executor decision, restart over SSH with the write key',
  ],
  [
    'time to recovery: restart → verified on the alert’s own series',
    ms(recovery.verification),
    'VERIFY_INTERVAL_MS 1000: the first re-check after the restart usually still sees the old scrape',
  ],
  ['time to recovery: crash → verified', ms(recovery.total), 'sum of the four'],
);

const fleet = await benchFleetStorm();
rows.push(
  [
    `fleet storm: the alert crossing a widespread threshold → fleet incident open, p50 / p99`,
    `${f(fleet.crossingP50Ms, 1)} / ${f(fleet.crossingP99Ms, 1)} ms`,
    `goal ≤ 1,000 ms p99; ${fleet.storms} bad deploys of ${f(fleet.targets)} targets in 3 regions, each as Alertmanager sends a growing group (the first alert, then the whole group every 100): the POST carrying the second region opens the fleet incident before its 202 (detection runs in the request, after intake's script); later POSTs joining it p99 ${f(fleet.joiningP99Ms, 1)} ms; ${f(fleet.alertsPosted)} alerts posted; storm guard off`,
  ],
  [
    'fleet storm: restarts run while the fleet incident is open',
    `${f(fleet.changesRunWithFleet)} of ${f(fleet.heldWithFleet + fleet.changesRunWithFleet)}`,
    `every one of the ${f(fleet.members)} members (${fleet.regions} regions) asks the executor to restart, as triage would: all held; the same storm with the widespread rules out of reach runs ${f(fleet.changesRunBudgetsOnly)} (budgets.maxInFlight 1 in the region going first, region by region holding the rest); a recording command as systemctl`,
  ],
  [
    'fleet storm: pages per channel for one fleet incident',
    `${fleet.pages.pagerduty} / ${fleet.pages.slack} / ${fleet.pages.email}`,
    `PagerDuty triggers / Slack messages / emails, through the real notifier (fake PagerDuty and Slack, a real SMTP server), after it worked through every member's notice too`,
  ],
  [
    'fleet storm: executor decisions/s, budgets on / off',
    `${f(fleet.decisionsPerSecond.budgetsOn)} / ${f(fleet.decisionsPerSecond.budgetsOff)}`,
    `1,000 restarts of one resource in one region, dry-run, one at a time in-process: on = the shipped budgets (1 runs, 999 held), off = budgets out of reach (1,000 dry_run records and rate-limit entries, which cost more than a hold)`,
  ],
);

const pickup = await benchVerificationPickup();
rows.push([
  `triage: level-3 incident → escalated while ${pickup.fixes} level-1 fixes are being verified`,
  `${f(pickup.pickupMs)} ms`,
  `runbook planner, TRIAGE_CONCURRENCY ${pickup.concurrency}; every fix's alert keeps firing, so all ${pickup.fixes} stay under verification (delayed re-check jobs, no worker held); target ≤ 1,000 ms`,
]);

const scaling = await benchTriageScaling();
for (const point of scaling)
  rows.push([
    `triage: ${point.processes} worker process${point.processes > 1 ? 'es' : ''} (incidents/s)`,
    f(point.incidentsPerSecond, 1),
    `${point.incidents} incidents in ${f(point.seconds, 1)} s; scaling efficiency ${f(point.efficiency * 100)} %; model answers each turn after 200 ms, 2 turns per incident, concurrency 4 per process`,
  ]);

const table = [
  '| measure | value | notes |',
  '|---|---|---|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${f(totalmem() / 2 ** 30, 0)} GiB; Node ${process.version}; ${version('redis-server')}; ${version('prometheus-alertmanager')}`;
// Sections below the table (before/after comparisons measured apart) are kept as they are.
const previous = existsSync('BENCHMARKS.md') ? readFileSync('BENCHMARKS.md', 'utf8') : '';
const kept = previous.includes('\n## ') ? previous.slice(previous.indexOf('\n## ')) : '';
const report = `# Benchmarks\n\nMeasured ${new Date().toISOString()} by \`npm run bench\` on ${machine}.\n\n${table}\n${kept}`;
console.log(report);
writeFileSync('BENCHMARKS.md', report);
