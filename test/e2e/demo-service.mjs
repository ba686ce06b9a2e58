// A small real service for the end-to-end test: serves Prometheus metrics and writes a log file.
// usage: node demo-service.mjs <port> <log file> [bind address, default 127.0.0.1]
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [port, logFile, address = '127.0.0.1'] = process.argv.slice(2);
const started = Date.now();
const log = (level, message) =>
  appendFileSync(logFile, `${new Date().toISOString()} ${level.toUpperCase()} ${message}\n`);

createServer((req, res) => {
  if (req.url === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`# TYPE demo_uptime_seconds gauge\ndemo_uptime_seconds ${(Date.now() - started) / 1000}\n`);
  } else {
    res.writeHead(404).end();
  }
}).listen(Number(port), address, () =>
  log('info', `demo listening on ${address}:${port} (pid ${process.pid})`),
);
process.on('SIGTERM', () => {
  log('error', 'received SIGTERM, shutting down');
  process.exit(0);
});
