import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import {
  accessSync,
  appendFileSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectOutput } from './output.js';

// Real SSH test hosts: one sshd per host, each on its own loopback address (127.0.0.2,
// 127.0.0.3, …) with its own host key, root logins by public key only and forced commands
// only. Both of the fleet's keys are locked into deploy/remote/hermes-remote (read / write
// mode) with the host's own remote.conf, whose restart/reload/status templates drive
// test/support/demo-unit.sh on the host's units/ dir, so a test can see on which host a
// restart really happened.

export const SSHD = '/usr/sbin/sshd';
export const SSH_INSTALL_HINT =
  'The SSH test hosts need OpenSSH: /usr/sbin/sshd and ssh-keygen (Debian/Ubuntu: apt-get install -y openssh-server openssh-client).';

const REPO = realpathSync(fileURLToPath(new URL('../..', import.meta.url)));
const HELPER = join(REPO, 'deploy', 'remote', 'hermes-remote');
export const DEMO_UNIT = join(REPO, 'test', 'support', 'demo-unit.sh');
const SETPRIV = '/usr/bin/setpriv';
const UNIT_RE = /^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/;
const READY_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 5_000;

export interface SshTestHost {
  name: string; // 'host-1', 'host-2', …
  address: string; // '127.0.0.2'
  port: number;
  dir: string; // the host's root dir (units/, var/log/, var/tmp/hermes/ under it)
  hostKeyLine: string; // e.g. 'ssh-ed25519 AAAA…' (the .pub content without comment)
  fingerprint: string; // 'SHA256:…' as ssh-keygen -lf prints it
  restarts(unit: string): number; // lines in units/<unit>.restarts (0 if none)
  reloads(unit: string): number;
  setUnitState(unit: string, state: 'running' | 'stopped'): void;
  failRestarts(unit: string, fail: boolean): void;
  appendLog(unit: string, line: string): void;
  /** Replaces the host key with a new one and restarts sshd on the same address/port (a "changed host key"). */
  rotateHostKey(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>; // start again after stop (same key, address, port)
}

export interface SshTestFleet {
  hosts: SshTestHost[];
  readKeyPath: string; // private key (ed25519, no passphrase) for triage's read verbs
  writeKeyPath: string; // private key for the executor's write verbs
  knownHostsPath: string; // OpenSSH known_hosts with each host as `[address]:port keytype base64`
  helperPath: string; // absolute path of deploy/remote/hermes-remote
  stop(): Promise<void>; // stops every sshd and removes temp dirs
}

// --- safety net: no sshd outlives this process ------------------------------------------

const liveDaemons = new Set<ChildProcess>();
const liveRoots = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const daemon of liveDaemons) daemon.kill('SIGKILL');
    for (const root of liveRoots) rmSync(root, { recursive: true, force: true });
  });
}

function track(child: ChildProcess): void {
  installExitHook();
  liveDaemons.add(child);
  child.once('exit', () => liveDaemons.delete(child));
}

// --- helpers ----------------------------------------------------------------------------

function checkPrerequisites(): void {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing. ${SSH_INSTALL_HINT}`);
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`ssh-keygen is missing. ${SSH_INSTALL_HINT}`);
    }
    // ssh-keygen -? exits non-zero with its usage: it is there.
  }
  if (!existsSync(HELPER)) {
    throw new Error(
      `The forced-command helper ${HELPER} is missing: the SSH test hosts cannot run without it.`,
    );
  }
  try {
    accessSync(DEMO_UNIT, constants.X_OK);
  } catch {
    throw new Error(`${DEMO_UNIT} is missing or not executable (chmod 755 it).`);
  }
  if (/\s/.test(REPO)) {
    throw new Error(
      `The repo path ${JSON.stringify(REPO)} contains whitespace: hermes-remote splits command templates on spaces.`,
    );
  }
}

/** A TCP port nobody listens on at `address` (a port free on 127.0.0.1 need not be free on 127.0.0.2). */
async function freePortOn(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const bound = server.address();
      server.close(() =>
        typeof bound === 'object' && bound ? resolve(bound.port) : reject(new Error('no port')),
      );
    });
  });
}

function canConnect(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function countLines(file: string): number {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '').length;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/** Generates an ed25519 key pair at `path` / `path.pub` (no passphrase), replacing any old one. */
function generateKey(path: string, comment: string): void {
  rmSync(path, { force: true });
  rmSync(`${path}.pub`, { force: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { stdio: 'pipe' });
}

/** `keytype base64` of a .pub file (the comment left off). */
function publicKeyLine(pubPath: string): string {
  const [type, base64] = readFileSync(pubPath, 'utf8').trim().split(/\s+/);
  if (!type || !base64) throw new Error(`Unreadable public key ${pubPath}`);
  return `${type} ${base64}`;
}

function fingerprintOf(pubPath: string): string {
  const out = execFileSync('ssh-keygen', ['-E', 'sha256', '-lf', pubPath], { encoding: 'utf8' });
  const fingerprint = out.trim().split(/\s+/)[1];
  if (!fingerprint?.startsWith('SHA256:')) throw new Error(`Unexpected ssh-keygen -lf output: ${out}`);
  return fingerprint;
}

function checkUnit(unit: string): void {
  if (!UNIT_RE.test(unit)) throw new Error(`Bad demo unit name ${JSON.stringify(unit)}`);
}

// --- one host ---------------------------------------------------------------------------

class Host implements SshTestHost {
  readonly name: string;
  readonly address: string;
  port = 0;
  readonly dir: string;
  hostKeyLine = '';
  fingerprint = '';
  private readonly unitsDir: string;
  private readonly hostKeyPath: string;
  private readonly configPath: string;
  private readonly logPath: string;
  private child: ChildProcess | null = null;

  constructor(name: string, address: string, dir: string) {
    this.name = name;
    this.address = address;
    this.dir = dir;
    this.unitsDir = join(dir, 'units');
    this.hostKeyPath = join(dir, 'ssh_host_ed25519_key');
    this.configPath = join(dir, 'sshd_config');
    this.logPath = join(dir, 'sshd.log');
  }

  /** Lays out the host's dir: units, clean roots, host key, remote.conf, authorized_keys. */
  setUp(units: string[], readPub: string, writePub: string): void {
    for (const sub of ['units', 'var/log', 'var/tmp/hermes'])
      mkdirSync(join(this.dir, sub), { recursive: true });
    for (const unit of units) {
      checkUnit(unit);
      writeFileSync(join(this.unitsDir, `${unit}.state`), 'running\n');
      writeFileSync(join(this.unitsDir, `${unit}.log`), '');
    }
    this.newHostKey();

    const demo = `${DEMO_UNIT} ${this.unitsDir}`;
    const remoteConf = join(this.dir, 'remote.conf');
    writeFileSync(
      remoteConf,
      [
        `# ${this.name}: written by test/support/ssh-hosts.ts`,
        `restart = ${demo} restart {unit}`,
        `reload = ${demo} reload {unit}`,
        `status = ${demo} status {unit}`,
        `state = ${demo} state {unit}`,
        ...units.map((unit) => `log_file.${unit} = ${join(this.unitsDir, `${unit}.log`)}`),
        `clean_roots = ${join(this.dir, 'var/log')} ${join(this.dir, 'var/tmp/hermes')}`,
        'diag.df = df -hP',
        'diag.uptime = uptime',
        '',
      ].join('\n'),
    );

    const forced = (mode: string) => `command="/bin/sh ${HELPER} --config ${remoteConf} ${mode}",restrict`;
    writeFileSync(
      join(this.dir, 'authorized_keys'),
      `${forced('read')} ${readPub}\n${forced('write')} ${writePub}\n`,
      { mode: 0o600 },
    );
  }

  private newHostKey(): void {
    generateKey(this.hostKeyPath, `hermes-test-${this.name}`);
    this.hostKeyLine = publicKeyLine(`${this.hostKeyPath}.pub`);
    this.fingerprint = fingerprintOf(`${this.hostKeyPath}.pub`);
  }

  private writeSshdConfig(): void {
    writeFileSync(
      this.configPath,
      [
        `ListenAddress ${this.address}:${this.port}`,
        'AddressFamily inet',
        `HostKey ${this.hostKeyPath}`,
        `PidFile ${join(this.dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(this.dir, 'authorized_keys')}`,
        'AuthorizedPrincipalsFile none',
        'UsePAM no',
        'StrictModes no',
        'PermitRootLogin forced-commands-only',
        'AllowUsers root',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'HostbasedAuthentication no',
        'GSSAPIAuthentication no',
        'PermitEmptyPasswords no',
        'PermitUserEnvironment no',
        'AllowTcpForwarding no',
        'AllowAgentForwarding no',
        'AllowStreamLocalForwarding no',
        'X11Forwarding no',
        'PermitTunnel no',
        'PrintMotd no',
        'PrintLastLog no',
        'UseDNS no',
        'LoginGraceTime 30',
        // Tests open many connections at once; the default 10:30:100 drops some at random.
        'MaxStartups 200',
        'MaxSessions 50',
        'LogLevel VERBOSE',
        // Each host is its own home: the forced command runs under root's login shell, and bash
        // started by sshd reads ~/.bashrc, whose tooling (pyenv rehash, with its lock file) must not
        // run on, or stall, a test host.
        `SetEnv HOME=${this.dir}`,
        '',
      ].join('\n'),
    );
  }

  async start(): Promise<void> {
    if (this.child) return;
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    this.writeSshdConfig();
    const sshdArgs = [SSHD, '-D', '-f', this.configPath, '-E', this.logPath];
    // With setpriv (util-linux) the sshd also dies when this process is killed outright.
    const [command, ...args] = existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'TERM', ...sshdArgs] : sshdArgs;
    const child = spawn(command as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    this.child = child;
    const output = collectOutput(child);
    let spawnError: Error | null = null;
    child.once('error', (error) => {
      spawnError = error;
    });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (true) {
      if (spawnError || child.exitCode !== null || child.signalCode !== null) {
        this.child = null;
        throw new Error(
          `sshd for ${this.name} (${this.address}:${this.port}) exited before accepting connections` +
            `${spawnError ? ` (${(spawnError as Error).message})` : ` (status ${child.exitCode ?? child.signalCode})`}` +
            `\n--- ${this.logPath} ---\n${tail(this.logPath)}\n--- output ---\n${output()}`,
        );
      }
      if (await canConnect(this.address, this.port)) return;
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(
          `sshd for ${this.name} did not accept connections on ${this.address}:${this.port} within ` +
            `${READY_TIMEOUT_MS} ms\n--- ${this.logPath} ---\n${tail(this.logPath)}\n--- output ---\n${output()}`,
        );
      }
      await sleep(50);
    }
  }

  /** First start: picks a free port on the host's address (again, if another process took it meanwhile). */
  async startOnFreePort(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.port = await freePortOn(this.address);
      try {
        await this.start();
        return;
      } catch (error) {
        if (attempt >= 3 || !/Address already in use/i.test(String(error))) throw error;
      }
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  async rotateHostKey(): Promise<void> {
    await this.stop();
    this.newHostKey();
    await this.start();
  }

  restarts(unit: string): number {
    checkUnit(unit);
    return countLines(join(this.unitsDir, `${unit}.restarts`));
  }

  reloads(unit: string): number {
    checkUnit(unit);
    return countLines(join(this.unitsDir, `${unit}.reloads`));
  }

  setUnitState(unit: string, state: 'running' | 'stopped'): void {
    checkUnit(unit);
    writeFileSync(join(this.unitsDir, `${unit}.state`), `${state}\n`);
  }

  failRestarts(unit: string, fail: boolean): void {
    checkUnit(unit);
    const marker = join(this.unitsDir, `${unit}.fail-restart`);
    if (fail) writeFileSync(marker, '');
    else rmSync(marker, { force: true });
  }

  appendLog(unit: string, line: string): void {
    checkUnit(unit);
    appendFileSync(join(this.unitsDir, `${unit}.log`), line.endsWith('\n') ? line : `${line}\n`);
  }
}

// --- the fleet --------------------------------------------------------------------------

/**
 * Starts `hosts` (default 3) real sshd test hosts on 127.0.0.2, 127.0.0.3, …, each with the
 * demo `units` (default api-gateway and worker; each starts `running` with an empty log).
 * `knownHostsPath` holds the host keys as they were at start: rotateHostKey() leaves it alone.
 */
export async function startSshFleet(
  options: { hosts?: number; units?: string[] } = {},
): Promise<SshTestFleet> {
  checkPrerequisites();
  const count = options.hosts ?? 3;
  const units = options.units ?? ['api-gateway', 'worker'];
  if (!Number.isInteger(count) || count < 1 || count > 250) throw new Error(`Bad host count ${count}`);

  const root = realpathSync(mkdtempSync(join(tmpdir(), 'hermes-ssh-')));
  installExitHook();
  liveRoots.add(root);
  const hosts: Host[] = [];
  const stopAll = async () => {
    await Promise.all(hosts.map((host) => host.stop()));
    rmSync(root, { recursive: true, force: true });
    liveRoots.delete(root);
  };

  try {
    const keys = join(root, 'keys');
    mkdirSync(keys, { mode: 0o700 });
    const readKeyPath = join(keys, 'hermes-read');
    const writeKeyPath = join(keys, 'hermes-write');
    generateKey(readKeyPath, 'hermes-read');
    generateKey(writeKeyPath, 'hermes-write');
    const readPub = publicKeyLine(`${readKeyPath}.pub`);
    const writePub = publicKeyLine(`${writeKeyPath}.pub`);

    for (let i = 1; i <= count; i++) {
      const host = new Host(`host-${i}`, `127.0.0.${i + 1}`, join(root, `host-${i}`));
      hosts.push(host);
      host.setUp(units, readPub, writePub);
    }
    await Promise.all(hosts.map((host) => host.startOnFreePort()));

    const knownHostsPath = join(root, 'known_hosts');
    writeFileSync(
      knownHostsPath,
      hosts.map((host) => `[${host.address}]:${host.port} ${host.hostKeyLine}\n`).join(''),
    );

    return { hosts, readKeyPath, writeKeyPath, knownHostsPath, helperPath: HELPER, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * TARGETS_FILE entries for these hosts: one ssh target each (each sshd has its own port), matched by
 * the alert's instance (the host's address, any port), logging in as root with the fleet's keys.
 */
export function fleetTargets(fleet: SshTestFleet, hosts: SshTestHost[] = fleet.hosts) {
  return hosts.map((host) => ({
    name: host.name,
    match: { instance: `${host.address.replaceAll('.', '\\.')}(:\\d+)?` },
    kind: 'ssh',
    ssh: {
      port: host.port,
      user: 'root',
      knownHosts: fleet.knownHostsPath,
      keys: { read: fleet.readKeyPath, write: fleet.writeKeyPath },
      connectTimeoutSeconds: 3,
      commandTimeoutSeconds: 10,
    },
  }));
}

export type ProgramResult = { code: number; stdout: string; stderr: string };

/** A program's exit code and output. One that cannot start (ENOENT) rejects: never a skipped test. */
export function runProgram(command: string, args: string[]): Promise<ProgramResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

/** `command` as root on `target` with the system OpenSSH client: only `key`, only `knownHosts`, no prompts. */
export function sshAsRoot(
  target: SshTestHost,
  key: string,
  command: string,
  knownHosts: string,
): Promise<ProgramResult> {
  return runProgram('ssh', [
    '-F',
    '/dev/null',
    '-i',
    key,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=5',
    '-p',
    String(target.port),
    `root@${target.address}`,
    command,
  ]);
}
