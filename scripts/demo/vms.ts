/**
 * The demo's "VMs": one sshd each on its own loopback address (127.0.0.2, 127.0.0.3, …), run as
 * the current user, with Hermes' two keys forced into deploy/remote/hermes-remote and a small demo
 * service (test/e2e/demo-service.mjs) that the helper restarts through test/e2e/demo-ctl.mjs.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/redis-server.js';

export const SSHD = '/usr/sbin/sshd';
export const SSH_INSTALL_LINE = 'apt-get install -y openssh-server openssh-client';
export const DEMO_SERVICE = 'demo-api';

const REPO = join(import.meta.dirname, '..', '..');
const HELPER = join(REPO, 'deploy', 'remote', 'hermes-remote');
const DEMO_CTL = join(REPO, 'test', 'e2e', 'demo-ctl.mjs');
const SETPRIV = '/usr/bin/setpriv';

export interface DemoVm {
  name: string;
  address: string;
  sshPort: number;
  dir: string;
  /** Where Prometheus scrapes the demo service: address:port. */
  serviceTarget: string;
  /** Kills the demo service outright (SIGKILL), as a crash would. */
  killService(): void;
  /** The helper's request log on this VM. */
  requestLog: string;
}

export interface DemoFleet {
  vms: DemoVm[];
  user: string;
  readKey: string;
  writeKey: string;
  knownHosts: string;
  stop(): Promise<void>;
}

function generateKey(path: string, comment: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { stdio: 'pipe' });
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

/** sshd listening on one address; it may log in only the current user, by key, into the helper. */
function sshdConfig(vm: { address: string; sshPort: number; dir: string }, user: string): string {
  return [
    `ListenAddress ${vm.address}:${vm.sshPort}`,
    'AddressFamily inet',
    `HostKey ${join(vm.dir, 'ssh_host_ed25519_key')}`,
    `PidFile ${join(vm.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(vm.dir, 'authorized_keys')}`,
    // Not root: no PAM, and the files are the current user's own.
    'UsePAM no',
    'StrictModes no',
    `AllowUsers ${user}`,
    'PermitRootLogin forced-commands-only',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'AllowTcpForwarding no',
    'X11Forwarding no',
    'PermitTunnel no',
    'PrintMotd no',
    'UseDNS no',
    // The forced command runs under the user's login shell: keep that shell's rc files out of it.
    `SetEnv HOME=${vm.dir}`,
    '',
  ].join('\n');
}

async function waitForPort(address: string, port: number, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: address, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const said = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
  throw new Error(`sshd on ${address}:${port} did not start${said ? `:\n${said}` : ''}`);
}

function runDemoCtl(dir: string): void {
  execFileSync(process.execPath, [DEMO_CTL, dir, 'restart', DEMO_SERVICE], { stdio: 'pipe' });
}

export function checkFleetPrerequisites(): void {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing. Install OpenSSH: ${SSH_INSTALL_LINE}`);
  try {
    execFileSync('ssh-keygen', ['-l', '-f', '/dev/null'], { stdio: 'ignore' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`ssh-keygen is missing. Install OpenSSH: ${SSH_INSTALL_LINE}`);
    // It refuses /dev/null: it is there.
  }
  for (const path of [REPO, process.execPath]) {
    if (/\s/.test(path))
      throw new Error(`${path} contains whitespace: the helper's command templates split on spaces`);
  }
}

/** Starts `count` VMs under `root` (a fresh directory the caller removes). */
export async function startDemoFleet(root: string, count: number): Promise<DemoFleet> {
  checkFleetPrerequisites();
  const user = userInfo().username;
  const keys = join(root, 'keys');
  mkdirSync(keys, { mode: 0o700 });
  const readKey = join(keys, 'hermes-read');
  const writeKey = join(keys, 'hermes-write');
  const readPub = generateKey(readKey, 'hermes-read');
  const writePub = generateKey(writeKey, 'hermes-write');

  const daemons: ChildProcess[] = [];
  const vms: DemoVm[] = [];
  const stop = async () => {
    for (const vm of vms) vm.killService();
    await Promise.all(
      daemons.map(
        (daemon) =>
          new Promise<void>((resolve) => {
            if (daemon.exitCode !== null || daemon.signalCode !== null) return resolve();
            daemon.once('exit', () => resolve());
            daemon.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    const knownHosts: string[] = [];
    for (let i = 1; i <= count; i++) {
      const address = `127.0.0.${i + 1}`;
      const dir = join(root, `vm-${i}`);
      mkdirSync(dir);
      const sshPort = await freePort();
      const servicePort = await freePort();
      const vm = { address, sshPort, dir };
      const hostPub = generateKey(join(dir, 'ssh_host_ed25519_key'), `demo-vm-${i}`);
      knownHosts.push(`[${address}]:${sshPort} ${hostPub.split(' ').slice(0, 2).join(' ')}`);

      // The demo service: its state for demo-ctl, its log, its pid.
      const logFile = join(dir, `${DEMO_SERVICE}.log`);
      const pidFile = join(dir, `${DEMO_SERVICE}.pid`);
      writeFileSync(
        join(dir, `${DEMO_SERVICE}.json`),
        JSON.stringify({ port: servicePort, logFile, pidFile, address }),
      );
      const requestLog = join(dir, 'requests.log');
      const conf = join(dir, 'remote.conf');
      writeFileSync(
        conf,
        [
          `units = ${DEMO_SERVICE}`,
          `restart = ${process.execPath} ${DEMO_CTL} ${dir} restart {unit}`,
          `log_file.${DEMO_SERVICE} = ${logFile}`,
          `request_log = ${requestLog}`,
          '',
        ].join('\n'),
      );
      writeFileSync(requestLog, '');
      const forced = (mode: string) => `restrict,command="/bin/sh ${HELPER} --config ${conf} ${mode}"`;
      writeFileSync(
        join(dir, 'authorized_keys'),
        `${forced('read')} ${readPub}\n${forced('write')} ${writePub}\n`,
        {
          mode: 0o600,
        },
      );
      writeFileSync(join(dir, 'sshd_config'), sshdConfig(vm, user));

      const log = join(dir, 'sshd.log');
      const sshdArgs = [SSHD, '-D', '-f', join(dir, 'sshd_config'), '-E', log];
      // With setpriv the sshd also goes when the demo is killed outright.
      const [command, ...args] = existsSync(SETPRIV)
        ? [SETPRIV, '--pdeathsig', 'TERM', ...sshdArgs]
        : sshdArgs;
      const daemon = spawn(command as string, args, { stdio: 'ignore' });
      daemons.push(daemon);
      await waitForPort(address, sshPort, daemon, log);

      vms.push({
        name: `vm-${i}`,
        address,
        sshPort,
        dir,
        serviceTarget: `${address}:${servicePort}`,
        requestLog,
        killService() {
          try {
            process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
          } catch {
            // not running
          }
        },
      });
      runDemoCtl(dir);
    }
    const knownHostsPath = join(keys, 'known_hosts');
    writeFileSync(knownHostsPath, `${knownHosts.join('\n')}\n`);
    return { vms, user, readKey, writeKey, knownHosts: knownHostsPath, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** TARGETS_FILE content: one ssh target per VM, matched by the alert's instance (the VM's address). */
export function fleetTargets(fleet: DemoFleet) {
  return {
    version: 1,
    targets: fleet.vms.map((vm) => ({
      name: vm.name,
      match: { instance: `${vm.address.replaceAll('.', '\\.')}(:\\d+)?` },
      kind: 'ssh',
      ssh: {
        port: vm.sshPort,
        user: fleet.user,
        knownHosts: fleet.knownHosts,
        keys: { read: fleet.readKey, write: fleet.writeKey },
        connectTimeoutSeconds: 3,
        commandTimeoutSeconds: 10,
      },
    })),
  };
}
