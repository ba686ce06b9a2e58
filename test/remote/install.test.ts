import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type ProgramResult,
  runProgram,
  type SshTestFleet,
  type SshTestHost,
  sshAsRoot,
  startSshFleet,
} from '../support/ssh-hosts.js';

// deploy/remote/install.sh run into a real sshd test host's own root dir (--root), then the
// installed helper driven through that sshd with both keys, the system OpenSSH client as Hermes.

const INSTALL = fileURLToPath(new URL('../../deploy/remote/install.sh', import.meta.url));
const DEMO_UNIT = fileURLToPath(new URL('../support/demo-unit.sh', import.meta.url));

let fleet: SshTestFleet;
let host: SshTestHost;
let root: string;
let config: string;
let requestLog: string;
let authorizedKeys: string;

function install(options: { readKey?: string; writeKey?: string } = {}): Promise<ProgramResult> {
  return runProgram('sh', [
    INSTALL,
    '--read-key',
    options.readKey ?? `${fleet.readKeyPath}.pub`,
    '--write-key',
    options.writeKey ?? `${fleet.writeKeyPath}.pub`,
    '--user',
    'root',
    '--config',
    config,
    '--root',
    root,
    '--authorized-keys',
    authorizedKeys,
  ]);
}

function ssh(key: string, command: string): Promise<ProgramResult> {
  return sshAsRoot(host, key, command, fleet.knownHostsPath);
}

/** Content, mode and mtime of everything install.sh writes. */
function snapshot() {
  return [
    join(root, 'usr/local/lib/hermes/hermes-remote'),
    join(root, 'etc/hermes/remote.conf'),
    requestLog,
    authorizedKeys,
  ].map((file) => {
    const stat = statSync(file);
    return { file, content: readFileSync(file, 'utf8'), mode: stat.mode, mtime: stat.mtimeMs };
  });
}

beforeAll(async () => {
  fleet = await startSshFleet({ hosts: 1, units: ['api-gateway'] });
  host = fleet.hosts[0] as SshTestHost;
  root = join(host.dir, 'root');
  // The test host's sshd already reads this file (with keys forced into the repo's helper).
  authorizedKeys = join(host.dir, 'authorized_keys');
  requestLog = join(root, 'var/log/hermes/remote.log');
  const units = join(host.dir, 'units');
  config = join(host.dir, 'install.conf');
  writeFileSync(
    config,
    [
      'units = api-gateway',
      `status = ${DEMO_UNIT} ${units} status {unit}`,
      `restart = ${DEMO_UNIT} ${units} restart {unit}`,
      `log_file.api-gateway = ${join(units, 'api-gateway.log')}`,
      `request_log = ${requestLog}`,
      '',
    ].join('\n'),
  );
}, 30_000);

afterAll(async () => {
  await fleet?.stop();
});

it('refuses the same key for reading and writing, and a config the helper refuses, changing nothing', async () => {
  const same = await install({ writeKey: `${fleet.readKeyPath}.pub` });
  expect(same.code).toBe(1);
  expect(same.stderr).toBe(
    'install.sh: the read and write keys are the same key: triage would be able to restart and delete\n',
  );
  const before = readFileSync(config, 'utf8');
  writeFileSync(config, `${before}request_log = var/log/relative.log\n`);
  const bad = await install();
  writeFileSync(config, before);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('request_log must be syslog or an absolute path');
  expect(() => statSync(join(root, 'usr'))).toThrow(/ENOENT/);
});

it('installs the helper, config, request log and both forced-command keys; reads and writes then work through sshd and are logged', async () => {
  const first = await install();
  expect(first.code, first.stderr).toBe(0);
  const helper = join(root, 'usr/local/lib/hermes/hermes-remote');
  const conf = join(root, 'etc/hermes/remote.conf');
  expect(first.stdout.split('\n')).toEqual([
    'install.sh: user root: exists',
    `install.sh: helper ${helper}: installed`,
    `install.sh: config ${conf}: installed`,
    `install.sh: request log ${requestLog}: created`,
    `install.sh: read and write keys in ${authorizedKeys}: updated (restrict, forced into ${helper})`,
    'install.sh: done: try  ssh -i <read key> root@<this host> resources',
    '',
  ]);
  const pub = (path: string) => readFileSync(path, 'utf8').trim();
  expect(readFileSync(authorizedKeys, 'utf8')).toBe(
    `restrict,command="${helper} --config ${conf} read" ${pub(`${fleet.readKeyPath}.pub`)}\n` +
      `restrict,command="${helper} --config ${conf} write" ${pub(`${fleet.writeKeyPath}.pub`)}\n`,
  );
  expect(statSync(helper).mode & 0o777).toBe(0o755);

  const status = await ssh(fleet.readKeyPath, 'status api-gateway');
  expect(status, status.stderr).toMatchObject({ code: 0, stdout: 'running\n' });
  const restart = await ssh(fleet.writeKeyPath, 'restart api-gateway');
  expect(restart, restart.stderr).toMatchObject({ code: 0, stdout: 'restarted api-gateway\n' });
  expect(host.restarts('api-gateway')).toBe(1);
  const refused = await ssh(fleet.readKeyPath, 'restart api-gateway');
  expect(refused.code).toBe(2);
  expect(host.restarts('api-gateway')).toBe(1);

  const logged = readFileSync(requestLog, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => line.replace(/^\S+ hermes-remote\[\d+\]: /, ''));
  expect(logged).toEqual([
    'key=read from=127.0.0.1 request="status api-gateway" exit=0',
    'key=write from=127.0.0.1 request="restart api-gateway" exit=0',
    'key=read from=127.0.0.1 request="restart api-gateway" exit=2 refused="restart is not allowed with the read key"',
  ]);
});

it('a second run changes nothing and says so', async () => {
  const before = snapshot();
  const again = await install();
  expect(again.code, again.stderr).toBe(0);
  expect(again.stdout).toContain(': unchanged');
  expect(again.stdout).not.toMatch(/: (installed|updated|created)/);
  expect(again.stdout).toContain(`install.sh: request log ${requestLog}: exists`);
  expect(snapshot()).toEqual(before);
});
