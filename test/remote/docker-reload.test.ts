import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DockerTargets } from '../../shared/remote/docker.js';

// A Docker target keeps its name while a reloaded TARGETS_FILE points it at another engine: the next
// request must reach the new socket, not a client made for the old one. Each "engine" here is an
// HTTP server on a unix socket that only records which requests reached it (and knows no container).

let dir: string;
const engines: { socketPath: string; server: Server; paths: string[] }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hermes-docker-reload-'));
  for (const name of ['old', 'new']) {
    const socketPath = join(dir, `${name}.sock`);
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'No such container: web' }));
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    engines.push({ socketPath, server, paths });
  }
});
afterAll(async () => {
  for (const { server } of engines) await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

it('asks the engine the reloaded file names', async () => {
  const [old, next] = engines as [(typeof engines)[0], (typeof engines)[0]];
  const clients = new DockerTargets();
  try {
    await expect(
      clients.get('docker-host-1', { socketPath: old.socketPath }).identify('web'),
    ).rejects.toThrow(/no such container/i);
    await expect(
      clients.get('docker-host-1', { socketPath: next.socketPath }).identify('web'),
    ).rejects.toThrow(/no such container/i);
    expect([old.paths.length, next.paths.length]).toEqual([1, 1]);
    expect(next.paths[0]).toMatch(/\/containers\/web\/json$/);
  } finally {
    clients.close();
  }
});
