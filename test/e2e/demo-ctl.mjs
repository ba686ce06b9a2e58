// The restart command the executor runs for the demo service (argv only, no shell):
//   node demo-ctl.mjs <state dir> restart <service>
// Reads <state dir>/<service>.json ({ port, logFile, pidFile, address? }), stops the old process if it still
// runs, starts a new one detached, and records its pid.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const [stateDir, verb, service] = process.argv.slice(2);
if (verb !== 'restart' || !/^[a-z0-9-]+$/.test(service ?? '')) {
  console.error('usage: demo-ctl.mjs <state dir> restart <service>');
  process.exit(64);
}
const state = JSON.parse(readFileSync(join(stateDir, `${service}.json`), 'utf8'));
try {
  process.kill(Number(readFileSync(state.pidFile, 'utf8')), 'SIGTERM');
} catch {
  // not running: that is why we restart
}
const child = spawn(
  process.execPath,
  [
    join(dirname(new URL(import.meta.url).pathname), 'demo-service.mjs'),
    String(state.port),
    state.logFile,
    state.address ?? '127.0.0.1',
  ],
  {
    detached: true,
    stdio: 'ignore',
  },
);
child.unref();
writeFileSync(state.pidFile, String(child.pid));
console.log(`restarted ${service} (pid ${child.pid})`);
