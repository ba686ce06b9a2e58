import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ProgramResult,
  type SshTestFleet,
  type SshTestHost,
  sshAsRoot,
  startSshFleet,
} from '../support/ssh-hosts.js';

// The SSH test-host harness itself, driven with the system OpenSSH client: real sshd
// processes, real host keys, the real forced-command helper (deploy/remote/hermes-remote).

let fleet: SshTestFleet;

function host(n: number): SshTestHost {
  const h = fleet.hosts[n - 1];
  if (!h) throw new Error(`no host-${n}`);
  return h;
}

const ssh = (target: SshTestHost, key: string, command: string, knownHosts = fleet.knownHostsPath) =>
  sshAsRoot(target, key, command, knownHosts);

function expectOk(r: ProgramResult) {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
}

beforeAll(async () => {
  fleet = await startSshFleet();
});

afterAll(async () => {
  await fleet?.stop();
});

describe('SSH test fleet', () => {
  it('starts three hosts on their own loopback addresses, each with its own host key', () => {
    expect(fleet.hosts.map((h) => h.name)).toEqual(['host-1', 'host-2', 'host-3']);
    expect(fleet.hosts.map((h) => h.address)).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    expect(new Set(fleet.hosts.map((h) => h.hostKeyLine)).size).toBe(3);
    expect(new Set(fleet.hosts.map((h) => h.fingerprint)).size).toBe(3);
    for (const h of fleet.hosts) {
      expect(h.port).toBeGreaterThan(0);
      expect(h.hostKeyLine).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+$/);
      expect(h.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]+$/);
    }
    expect(readFileSync(fleet.knownHostsPath, 'utf8')).toBe(
      fleet.hosts.map((h) => `[${h.address}]:${h.port} ${h.hostKeyLine}\n`).join(''),
    );
    expect(fleet.helperPath).toMatch(/\/deploy\/remote\/hermes-remote$/);
  });

  it("runs a write-key restart on host-2 only: host-1's and host-3's units see nothing", async () => {
    const r = await ssh(host(2), fleet.writeKeyPath, 'restart api-gateway');
    expectOk(r);
    // The unit's state from before the restart (the demo unit's `state`), then the restart's word.
    expect(r.stdout).toBe('before: ActiveState=running\nbefore: NRestarts=0\nrestarted api-gateway\n');
    expect(host(2).restarts('api-gateway')).toBe(1);
    expect(host(2).restarts('worker')).toBe(0);
    expect(host(1).restarts('api-gateway')).toBe(0);
    expect(host(3).restarts('api-gateway')).toBe(0);
    expect(readFileSync(join(host(2).dir, 'units', 'api-gateway.log'), 'utf8')).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO api-gateway restarted\n$/,
    );
  });

  it('runs reloads, and reads status and logs with the read key', async () => {
    expectOk(await ssh(host(1), fleet.writeKeyPath, 'reload worker'));
    expect(host(1).reloads('worker')).toBe(1);
    expect(host(2).reloads('worker')).toBe(0);

    const running = await ssh(host(3), fleet.readKeyPath, 'status worker');
    expectOk(running);
    expect(running.stdout).toBe('running\n');
    host(3).setUnitState('worker', 'stopped');
    const stopped = await ssh(host(3), fleet.readKeyPath, 'status worker');
    expect(stopped.code).toBe(3);
    expect(stopped.stdout).toBe('stopped\n');
    host(3).setUnitState('worker', 'running');

    host(3).appendLog('worker', '2026-01-01T00:00:00Z ERROR worker out of memory');
    host(3).appendLog('worker', '2026-01-01T00:00:01Z INFO worker still alive');
    const logs = await ssh(host(3), fleet.readKeyPath, 'logs worker 10 error');
    expectOk(logs);
    expect(logs.stdout).toBe('2026-01-01T00:00:00Z ERROR worker out of memory\n');

    const uptime = await ssh(host(1), fleet.readKeyPath, 'diag uptime');
    expectOk(uptime);
    expect(uptime.stdout).toMatch(/load average/);
  });

  it('the read key cannot restart: the helper refuses and nothing is restarted', async () => {
    const r = await ssh(host(1), fleet.readKeyPath, 'restart api-gateway');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/hermes-remote: refused: restart is not allowed with the read key/);
    expect(host(1).restarts('api-gateway')).toBe(0);
  });

  it('no key gets a shell or anything but the helper', async () => {
    for (const key of [fleet.readKeyPath, fleet.writeKeyPath]) {
      const r = await ssh(host(1), key, 'id');
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/hermes-remote: refused: unknown verb id/);
    }
  });

  it('a key that is not in authorized_keys is refused by sshd', async () => {
    const stranger = join(host(2).dir, 'stranger');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const r = await ssh(host(2), stranger, 'status worker');
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/Permission denied \(publickey\)/);
  });

  it('a failing unit: restart exits 1 with the error on stderr', async () => {
    host(1).failRestarts('worker', true);
    const failed = await ssh(host(1), fleet.writeKeyPath, 'restart worker');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/ERROR worker failed to start/);
    expect((await ssh(host(1), fleet.readKeyPath, 'status worker')).code).toBe(3);

    host(1).failRestarts('worker', false);
    expectOk(await ssh(host(1), fleet.writeKeyPath, 'restart worker'));
    expect(host(1).restarts('worker')).toBe(2); // every attempt is counted
    expectOk(await ssh(host(1), fleet.readKeyPath, 'status worker'));
  });

  it('after rotateHostKey() the old known_hosts fails host key verification', async () => {
    const h = host(3);
    const before = { port: h.port, hostKeyLine: h.hostKeyLine, fingerprint: h.fingerprint };
    await h.rotateHostKey();
    expect(h.port).toBe(before.port);
    expect(h.hostKeyLine).not.toBe(before.hostKeyLine);
    expect(h.fingerprint).not.toBe(before.fingerprint);

    const r = await ssh(h, fleet.writeKeyPath, 'restart api-gateway');
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    expect(h.restarts('api-gateway')).toBe(0);

    const fresh = join(h.dir, 'known_hosts.rotated');
    writeFileSync(fresh, `[${h.address}]:${h.port} ${h.hostKeyLine}\n`);
    expectOk(await ssh(h, fleet.writeKeyPath, 'restart api-gateway', fresh));
    expect(h.restarts('api-gateway')).toBe(1);
  });

  it('stop() makes a host unreachable and start() brings it back with the same key and port', async () => {
    const h = host(1);
    const before = { port: h.port, fingerprint: h.fingerprint };
    await h.stop();
    const down = await ssh(h, fleet.readKeyPath, 'status api-gateway');
    expect(down.code).toBe(255);
    expect(down.stderr).toMatch(/Connection refused/);

    await h.start();
    expect(h.port).toBe(before.port);
    expect(h.fingerprint).toBe(before.fingerprint);
    const up = await ssh(h, fleet.readKeyPath, 'status api-gateway');
    expectOk(up);
    expect(up.stdout).toBe('running\n');
  });
});
