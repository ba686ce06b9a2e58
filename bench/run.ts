/**
 * `npm run bench`: starts its own Redis, Alertmanager and services, prints one table and writes it to
 * BENCHMARKS.md. Figures are ratios measured within one run: these machines are noisy.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { benchIngestThroughput } from './ingest-throughput.js';

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
rows.push(
  [
    'ingest: Hermes webhook (alerts/s)',
    f(ingest.hermes.alertsPerSecond),
    `p50 ${f(ingest.hermes.p50Ms, 1)} ms, p99 ${f(ingest.hermes.p99Ms, 1)} ms, ${ingest.hermes.errors} errors`,
  ],
  [
    'ingest: Alertmanager /api/v2/alerts (alerts/s)',
    f(ingest.alertmanager.alertsPerSecond),
    `p50 ${f(ingest.alertmanager.p50Ms, 1)} ms, p99 ${f(ingest.alertmanager.p99Ms, 1)} ms, ${ingest.alertmanager.errors} errors`,
  ],
  [
    'ingest: Hermes / Alertmanager',
    `${f(ingest.ratio, 2)}×`,
    'target ≥ 2×; batches of 100 (half duplicates), 4 connections, 20,000 alerts',
  ],
);

const table = [
  '| measure | value | notes |',
  '|---|---|---|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${f(totalmem() / 2 ** 30, 0)} GiB; Node ${process.version}; ${version('redis-server')}; ${version('prometheus-alertmanager')}`;
const report = `# Benchmarks\n\nMeasured ${new Date().toISOString()} by \`npm run bench\` on ${machine}.\n\n${table}\n`;
console.log(report);
writeFileSync('BENCHMARKS.md', report);
