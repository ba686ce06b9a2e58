import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The forced-command helper Hermes' SSH keys are locked into on a target host. It is run
// here the way sshd runs it: `hermes-remote --config FILE read|write`, the request in
// SSH_ORIGINAL_COMMAND, under dash (the helper must be plain POSIX sh).

const SCRIPT = fileURLToPath(new URL('../../deploy/remote/hermes-remote', import.meta.url));
const DAY = 86_400;

type Result = { code: number; stdout: string; stderr: string };

let base: string;

function run(mode: string, command: string | undefined, config?: string, env: NodeJS.ProcessEnv = {}) {
  const args = config === undefined ? [SCRIPT, mode] : [SCRIPT, '--config', config, mode];
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...env };
  if (command !== undefined) childEnv.SSH_ORIGINAL_COMMAND = command;
  return new Promise<Result>((resolve, reject) => {
    execFile('dash', args, { env: childEnv, timeout: 20_000 }, (error, stdout, stderr) => {
      // A missing dash (ENOENT) is an error here, never a skipped test.
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

let configs = 0;
/** Writes a config file in the test's temp dir and returns its path. */
function conf(text: string) {
  const file = join(base, `conf-${++configs}.conf`);
  writeFileSync(file, text);
  return file;
}

function expectRefused(r: Result, reason?: RegExp) {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^hermes-remote: refused: [^\n]+\n$/);
  if (reason) expect(r.stderr).toMatch(reason);
}

function expectOk(r: Result) {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
}

/** A file aged `days` days (mtime and atime). */
function aged(path: string, days: number, content = 'x') {
  writeFileSync(path, content);
  const t = Date.now() / 1000 - days * DAY;
  utimesSync(path, t, t);
}

function script(name: string, body: string) {
  const file = join(base, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

let calls: string;
let fakeCtl: string;

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'hermes-remote-')));
  calls = join(base, 'calls.txt');
  // Stands in for systemctl: records its argv, says something, and fails on request.
  fakeCtl = script(
    'fake-ctl',
    `echo "$*" >> '${calls}'
echo "ctl output $*"
case "$2" in fail) echo "it broke" >&2; exit 5 ;; killed) kill -9 $$ ;; esac
exit 0`,
  );
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

it('runs under dash, which must be installed', () => {
  expect(execFileSync('dash', ['-c', 'echo ok'], { encoding: 'utf8' })).toBe('ok\n');
  expect(readFileSync(SCRIPT, 'utf8').startsWith('#!/bin/sh\n')).toBe(true);
});

describe('invocation and mode separation', () => {
  it('refuses a bad mode, bad arguments, an unreadable --config and a missing command', async () => {
    const c = conf('');
    expectRefused(await run('admin', 'resources', c), /usage/);
    expectRefused(await run('read', undefined, c), /no command/);
    expectRefused(await run('read', '', c), /no command/);
    expectRefused(await run('read', '   ', c), /no command/);
    expectRefused(await run('read', 'resources', join(base, 'nope.conf')), /cannot read config/);
  });

  it.each([['restart nginx'], ['reload nginx'], ['clean /var/log 30']])(
    'refuses the write verb "%s" with the read key',
    async (cmd) => {
      expectRefused(await run('read', cmd, conf('')), /not allowed with the read key/);
    },
  );

  it.each([['status nginx'], ['logs nginx 10 all'], ['resources'], ['diag uptime']])(
    'refuses the read verb "%s" with the write key',
    async (cmd) => {
      expectRefused(await run('write', cmd, conf('')), /not allowed with the write key/);
    },
  );

  it('refuses unknown verbs, shell syntax and extra or missing words', async () => {
    const c = conf(`status = ${fakeCtl} status {unit}\nrestart = ${fakeCtl} restart {unit}\n`);
    expectRefused(await run('read', 'bash', c), /unknown verb bash/);
    expectRefused(await run('read', 'status; id', c), /unknown verb/);
    expectRefused(await run('read', 'STATUS nginx', c), /unknown verb/);
    expectRefused(await run('read', 'status', c), /takes 1 argument/);
    expectRefused(await run('read', 'status a b', c), /takes 1 argument/);
    expectRefused(await run('read', 'logs a 10', c), /takes 3 argument/);
    expectRefused(await run('read', 'logs a 10 all x', c), /takes 3 argument/);
    expectRefused(await run('read', 'resources now', c), /takes 0 argument/);
    expectRefused(await run('read', 'diag', c), /takes 1 argument/);
    expectRefused(await run('write', 'restart', c), /takes 1 argument/);
    expectRefused(await run('write', 'restart a b', c), /takes 1 argument/);
    expectRefused(await run('write', 'clean /var/log', c), /takes 2 argument/);
    expect(existsSync(calls) ? readFileSync(calls, 'utf8') : '').toBe('');
  });
});

describe('unit names', () => {
  it.each([
    ['../x'],
    ['-rf'],
    ['a;b'],
    ['$(id)'],
    ['`id`'],
    ['a|b'],
    ['a\tb'],
    ['.hidden'],
    ['a/b'],
    ['*'],
    ['x'.repeat(129)],
  ])('refuses the unit %j and runs nothing', async (unit) => {
    const c = conf(`status = ${fakeCtl} status {unit}\nrestart = ${fakeCtl} restart {unit}\n`);
    expectRefused(await run('read', `status ${unit}`, c), /bad unit name/);
    expectRefused(await run('write', `restart ${unit}`, c), /bad unit name/);
    expect(existsSync(calls)).toBe(false);
  });

  it('refuses a command with a line break in it', async () => {
    const c = conf(`status = ${fakeCtl} status {unit}\n`);
    expectRefused(await run('read', 'status a\nb', c), /line break/);
    expectRefused(await run('read', 'status a\rb', c), /line break/);
    expect(existsSync(calls)).toBe(false);
  });

  it('accepts the longest valid unit name and the allowed punctuation', async () => {
    const c = conf(`status = /bin/echo st {unit}\n`);
    const long = `a${'b'.repeat(127)}`;
    const r = await run('read', `status ${long}`, c);
    expectOk(r);
    expect(r.stdout).toBe(`st ${long}\n`);
    const r2 = await run('read', 'status getty@tty1.service', c);
    expect(r2.stdout).toBe('st getty@tty1.service\n');
    const r3 = await run('read', 'status sys-fs:x_y-z', c);
    expect(r3.stdout).toBe('st sys-fs:x_y-z\n');
  });

  it('enforces the units allowlist when one is configured', async () => {
    const c = conf(`units = nginx  web@1.service\nstatus = /bin/echo st {unit}\n`);
    expect((await run('read', 'status nginx', c)).stdout).toBe('st nginx\n');
    expect((await run('read', 'status web@1.service', c)).stdout).toBe('st web@1.service\n');
    expectRefused(await run('read', 'status sshd', c), /unit sshd is not in this host's units list/);
    expectRefused(await run('read', 'logs sshd 10 all', c), /not in this host's units list/);
    expectRefused(await run('write', 'restart sshd', c), /not in this host's units list/);
    expectRefused(await run('write', 'reload ngin', c), /not in this host's units list/);
  });
});

describe('status, restart, reload', () => {
  it('runs the status template as argv, passing its output and exit status through', async () => {
    const c = conf(`status = ${fakeCtl} status --unit={unit}.service {unit}\n`);
    const r = await run('read', 'status nginx', c);
    expectOk(r);
    expect(r.stdout).toBe('ctl output status --unit=nginx.service nginx\n');
    const inactive = script('inactive', 'echo "inactive (dead)"; exit 3');
    const r2 = await run('read', 'status nginx', conf(`status = ${inactive} {unit}\n`));
    expect(r2).toEqual({ code: 3, stdout: 'inactive (dead)\n', stderr: '' });
    rmSync(calls, { force: true });
  });

  it('restarts and reloads through the configured command, then says so', async () => {
    rmSync(calls, { force: true });
    const c = conf(`restart = ${fakeCtl} restart {unit}\nreload = ${fakeCtl} reload {unit}\n`);
    const r = await run('write', 'restart nginx', c);
    expectOk(r);
    expect(r.stdout).toBe('ctl output restart nginx\nrestarted nginx\n');
    const r2 = await run('write', 'reload web@2', c);
    expectOk(r2);
    expect(r2.stdout).toBe('ctl output reload web@2\nreloaded web@2\n');
    expect(readFileSync(calls, 'utf8')).toBe('restart nginx\nreload web@2\n');
    rmSync(calls, { force: true });
  });

  it("prints the unit's state and last ERROR lines before a restart; a failing read does not stop it", async () => {
    rmSync(calls, { force: true });
    const log = join(base, 'app.log');
    writeFileSync(log, 'INFO app up\nERROR app cannot bind :80\nINFO app retrying\nFATAL app gave up\n');
    const state = script('fake-show', 'printf "ActiveState=failed\\nNRestarts=7\\nExecMainStatus=1\\n"');
    const c = conf(`restart = ${fakeCtl} restart {unit}\nstate = ${state} {unit}\nlog_file.app = ${log}\n`);
    const r = await run('write', 'restart app', c);
    expectOk(r);
    expect(r.stdout).toBe(
      [
        'before: ActiveState=failed',
        'before: NRestarts=7',
        'before: ExecMainStatus=1',
        'before-error: ERROR app cannot bind :80',
        'before-error: FATAL app gave up',
        'ctl output restart app',
        'restarted app',
        '',
      ].join('\n'),
    );
    // Reload resets nothing: it prints no state.
    const reload = await run(
      'write',
      'reload app',
      conf(`reload = ${fakeCtl} reload {unit}\nstate = ${state} {unit}\n`),
    );
    expect(reload.stdout).toBe('ctl output reload app\nreloaded app\n');
    const broken = conf(
      `restart = ${fakeCtl} restart {unit}\nstate = ${join(base, 'missing')} {unit}\nlog_file.app = ${join(base, 'missing.log')}\n`,
    );
    const r2 = await run('write', 'restart app', broken);
    expect(r2).toEqual({ code: 0, stdout: 'ctl output restart app\nrestarted app\n', stderr: '' });
    expect(readFileSync(calls, 'utf8')).toBe('restart app\nreload app\nrestart app\n');
    rmSync(calls, { force: true });
  });

  it('passes a failed restart through with its status, and maps a killed one to 1', async () => {
    const c = conf(`restart = ${fakeCtl} restart {unit}\n`);
    const r = await run('write', 'restart fail', c);
    expect(r).toEqual({ code: 5, stdout: 'ctl output restart fail\n', stderr: 'it broke\n' });
    const k = await run('write', 'restart killed', c);
    expect(k.code).toBe(1);
    expect(k.stdout).not.toMatch(/restarted/);
    rmSync(calls, { force: true });
  });

  it('refuses a verb whose template is configured empty', async () => {
    expectRefused(await run('write', 'restart nginx', conf('restart =\n')), /restart is disabled/);
  });

  it('stops a command at the configured timeout', async () => {
    const c = conf('timeout = 1\ndiag.slow = sleep 5\n');
    const t0 = Date.now();
    const r = await run('read', 'diag slow', c);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/timed out after 1s/);
    expect(Date.now() - t0).toBeLessThan(4000);
  });
});

describe('logs', () => {
  const lines = [
    '2024-01-01T00:00:01 app[1]: INFO starting',
    '2024-01-01T00:00:02 app[1]: Warning: disk at 85%',
    '2024-01-01T00:00:03 app[1]: ERROR connection refused',
    '2024-01-01T00:00:04 app[1]: debug tick',
    '2024-01-01T00:00:05 app[1]: FATAL out of memory',
    '2024-01-01T00:00:06 app[1]: kernel: crit temperature',
    '2024-01-01T00:00:07 app[1]: WARN slow request',
    '2024-01-01T00:00:08 app[1]: panic: nil map',
    '2024-01-01T00:00:09 app[1]: all good',
  ];
  let c: string;
  beforeAll(() => {
    const log = join(base, 'app.log');
    writeFileSync(log, `${lines.join('\n')}\n`);
    c = conf(`log_file.app = ${log}\nlogs = /bin/false {unit}\n`);
  });

  it('filters by level, then keeps the last LINES lines', async () => {
    const all = await run('read', 'logs app 1000 all', c);
    expectOk(all);
    expect(all.stdout).toBe(`${lines.join('\n')}\n`);
    expect((await run('read', 'logs app 1000 info', c)).stdout).toBe(all.stdout);
    const errors = (await run('read', 'logs app 100 error', c)).stdout.trim().split('\n');
    expect(errors).toEqual([lines[2], lines[4], lines[5], lines[7]]);
    const warns = (await run('read', 'logs app 100 warn', c)).stdout.trim().split('\n');
    expect(warns).toEqual([lines[1], lines[2], lines[4], lines[5], lines[6], lines[7]]);
    expect((await run('read', 'logs app 2 error', c)).stdout).toBe(`${lines[5]}\n${lines[7]}\n`);
    expect((await run('read', 'logs app 1 all', c)).stdout).toBe(`${lines[8]}\n`);
  });

  it('runs the logs template for a unit without a log file, keeping its exit status', async () => {
    const journal = script(
      'fake-journal',
      `echo "journal $*"; echo "unit x: error one"; echo "unit x: ok"; exit \${FAKE_STATUS:-0}`,
    );
    const jc = conf(`logs = ${journal} --unit={unit}\n`);
    const r = await run('read', 'logs web 10 error', jc);
    expectOk(r);
    expect(r.stdout).toBe('unit x: error one\n');
    const r2 = await run('read', 'logs web 10 all', jc);
    expect(r2.stdout).toBe('journal --unit=web\nunit x: error one\nunit x: ok\n');
    const r3 = await run('read', 'logs web 10 all', jc, { FAKE_STATUS: '4' });
    expect(r3.code).toBe(4);
    expect(r3.stdout).toBe('journal --unit=web\nunit x: error one\nunit x: ok\n');
    // No matching line is not a failure.
    const quiet = conf(`logs = /bin/echo all fine\n`);
    expect(await run('read', 'logs web 10 error', quiet)).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it.each([
    ['logs app 0 all', /LINES/],
    ['logs app 1001 all', /LINES/],
    ['logs app -5 all', /LINES/],
    ['logs app 010 all', /LINES/],
    ['logs app 1e3 all', /LINES/],
    ['logs app 99999999999999999999 all', /LINES/],
    ['logs app 10 debug', /LEVEL/],
    ['logs app 10 ERROR', /LEVEL/],
    ['logs app 10 error|x', /LEVEL/],
  ])('refuses %j', async (cmd, reason) => {
    expectRefused(await run('read', cmd, c), reason);
  });
});

describe('resources and diag', () => {
  it('prints machine-readable load, memory, cpu and disk lines', async () => {
    const r = await run('read', 'resources', conf(''));
    expectOk(r);
    const out = r.stdout.split('\n').filter(Boolean);
    expect(out[0]).toMatch(/^load1 \d+\.\d+$/);
    expect(out[1]).toMatch(/^load5 \d+\.\d+$/);
    expect(out[2]).toMatch(/^load15 \d+\.\d+$/);
    expect(out[3]).toMatch(/^mem_total_kb [1-9]\d*$/);
    expect(out[4]).toMatch(/^mem_available_kb \d+$/);
    expect(out[5]).toMatch(/^cpus [1-9]\d*$/);
    for (const line of out.slice(6)) expect(line).toMatch(/^disk \/.* \d{1,3}$/);
    expect(out.some((l) => /^disk \/ \d+$/.test(l))).toBe(true);
  });

  it('parses df -P output: spaces in mount points, pseudo filesystems and no capacity skipped', async () => {
    const bin = join(base, 'fakebin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'df'),
      `#!/bin/sh
cat <<'EOF'
Filesystem     1024-blocks      Used Available Capacity Mounted on
/dev/sda1         41152736  30534064   8504912      79% /
tmpfs              1638400      1200   1637200       1% /run
/dev/sdb1        103081248  98000000   5081248      96% /srv/data with space
overlay           41152736  30534064   8504912      79% /var/lib/docker/overlay2/x/merged
proc                     0         0         0        - /proc
EOF
`,
    );
    chmodSync(join(bin, 'df'), 0o755);
    const r = await run('read', 'resources', conf(''), { PATH: `${bin}:${process.env.PATH}` });
    expectOk(r);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('disk '))).toEqual([
      'disk / 79',
      'disk /srv/data with space 96',
    ]);
  });

  it('runs a configured diagnostic as argv, and the defaults', async () => {
    const c = conf('diag.hello = /bin/echo hello   world\ndiag.glob = /bin/echo /* ~ $HOME\n');
    expect(await run('read', 'diag hello', c)).toEqual({ code: 0, stdout: 'hello world\n', stderr: '' });
    expect((await run('read', 'diag glob', c)).stdout).toBe('/* ~ $HOME\n');
    const up = await run('read', 'diag uptime', c);
    expectOk(up);
    expect(up.stdout).toMatch(/load average/);
    expectRefused(await run('read', 'diag nope', c), /diagnostic nope is not configured/);
    expectRefused(await run('read', 'diag Hello', c), /bad diagnostic name/);
    expectRefused(await run('read', 'diag ../x', c), /bad diagnostic name/);
    expectRefused(await run('read', `diag ${'a'.repeat(51)}`, c), /bad diagnostic name/);
    expectRefused(await run('read', 'diag ps', conf('diag.ps =\n')), /not configured/);
  });
});

describe('config file', () => {
  it('refuses a malformed line, naming its line number', async () => {
    const c = conf('# hermes\n\nunits = a b\nthis line has no equals sign\n');
    expectRefused(await run('read', 'resources', c), /line 4: malformed/);
    expectRefused(await run('read', 'resources', conf('= value\n')), /line 1: malformed/);
    expectRefused(await run('read', 'resources', conf('\n\nfoo bar = 1\n')), /line 3: malformed/);
    expectRefused(await run('read', 'resources', conf('restrat = x\n')), /line 1: unknown key restrat/);
    expectRefused(await run('read', 'resources', conf('timeout = soon\n')), /line 1: timeout/);
    expectRefused(await run('read', 'resources', conf('units = ok $(id)\n')), /line 1: units: bad unit/);
    expectRefused(await run('read', 'resources', conf('clean_roots = var/log\n')), /line 1: clean_roots/);
    expectRefused(await run('read', 'resources', conf('log_file.a;b = /x\n')), /line 1: malformed/);
    expectRefused(await run('read', 'resources', conf('diag.X = uptime\n')), /line 1: bad diagnostic/);
  });

  it('ignores comments, blank lines and the whitespace around "="; the last entry wins', async () => {
    const c = conf(
      `  # a comment\n\n\t\ndiag.x=/bin/echo one\n  diag.x \t=\t /bin/echo two  \r\n# diag.x = /bin/echo three`,
    );
    expect(await run('read', 'diag x', c)).toEqual({ code: 0, stdout: 'two\n', stderr: '' });
  });

  it('never hands a config value to a shell', async () => {
    const pwned = join(base, 'pwned');
    const c = conf(
      [
        `restart = /bin/echo {unit};touch ${pwned}`,
        `reload = /bin/echo $(touch ${pwned}) \`touch ${pwned}\` {unit}`,
        `diag.x = /bin/echo a && touch ${pwned} | touch ${pwned}`,
      ].join('\n'),
    );
    const r = await run('write', 'restart nginx', c);
    expect(r).toEqual({ code: 0, stdout: `nginx;touch ${pwned}\nrestarted nginx\n`, stderr: '' });
    const r2 = await run('write', 'reload nginx', c);
    expect(r2.stdout).toBe(`$(touch ${pwned}) \`touch ${pwned}\` nginx\nreloaded nginx\n`);
    expect((await run('read', 'diag x', c)).stdout).toBe(`a && touch ${pwned} | touch ${pwned}\n`);
    expect(existsSync(pwned)).toBe(false);
  });

  it('accepts remote.conf.example as it is, and with every setting uncommented', async () => {
    const example = readFileSync(
      fileURLToPath(new URL('../../deploy/remote/remote.conf.example', import.meta.url)),
      'utf8',
    );
    expectOk(await run('read', 'resources', conf(example)));
    const uncommented = example.replace(/^#(?=[a-z])/gm, '');
    const keys = [...uncommented.matchAll(/^([a-z][^ =\n]*) =/gm)].map((m) =>
      String(m[1]).replace(/\..*/, '.*'),
    );
    expect(new Set(keys)).toEqual(
      new Set([
        'units',
        'status',
        'logs',
        'state',
        'log_file.*',
        'diag.*',
        'restart',
        'reload',
        'clean_roots',
        'clean_min_age_days',
        'timeout',
        'request_log',
      ]),
    );
    const c = conf(uncommented);
    expectOk(await run('read', 'resources', c));
    expectRefused(await run('read', 'status sshd.service', c), /not in this host's units list/);
    expectRefused(await run('read', 'diag nope', c), /not configured/);
  });

  it.skipIf(existsSync('/etc/hermes/remote.conf'))(
    'uses all defaults when the default config file is missing',
    async () => {
      const r = await run('read', 'diag nope');
      expectRefused(r, /diagnostic nope is not configured/);
      const up = await run('read', 'diag uptime');
      expectOk(up);
    },
  );
});

describe('clean', () => {
  let root: string;
  let outside: string;
  let n = 0;
  const mounts: string[] = [];

  beforeAll(() => {
    root = join(base, 'clean-root');
    outside = join(base, 'outside');
    mkdirSync(root);
    mkdirSync(outside);
  });

  afterAll(() => {
    for (const m of mounts.reverse()) {
      try {
        execFileSync('umount', [m]);
      } catch {
        execFileSync('umount', ['-l', m]);
      }
    }
  });

  /** A fresh directory under the clean root. */
  const fresh = () => {
    const dir = join(root, `case-${++n}`);
    mkdirSync(dir);
    return dir;
  };
  const rootConf = (extra = '') => conf(`clean_roots = ${root}\n${extra}`);

  it('deletes regular files at least MIN_AGE_DAYS old, keeps younger ones and all directories', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'sub'));
    aged(join(dir, 'old.log'), 30, 'hello');
    aged(join(dir, 'seven-and-a-half.log'), 7.5, '123');
    aged(join(dir, 'sub', 'old.gz'), 8, 'ab');
    aged(join(dir, 'with space.log'), 9, '');
    aged(join(dir, 'six.log'), 6);
    aged(join(dir, 'almost-seven.log'), 6.9);
    aged(join(dir, 'new.log'), 0);
    const t = Date.now() / 1000 - 100 * DAY;
    utimesSync(join(dir, 'sub'), t, t);
    const r = await run('write', `clean ${dir} 7`, rootConf());
    expectOk(r);
    const out = r.stdout.split('\n').filter(Boolean);
    expect(out.at(-1)).toBe('cleaned files=4 bytes=10');
    expect(out.slice(0, -1).sort()).toEqual(
      [
        `deleted ${dir}/old.log`,
        `deleted ${dir}/seven-and-a-half.log`,
        `deleted ${dir}/sub/old.gz`,
        `deleted ${dir}/with space.log`,
      ].sort(),
    );
    for (const kept of ['six.log', 'almost-seven.log', 'new.log', 'sub']) {
      expect(existsSync(join(dir, kept))).toBe(true);
    }
    for (const gone of ['old.log', 'seven-and-a-half.log', 'sub/old.gz']) {
      expect(existsSync(join(dir, gone))).toBe(false);
    }
    // A larger MIN_AGE_DAYS keeps more.
    aged(join(dir, 'ten.log'), 10);
    aged(join(dir, 'twenty.log'), 20);
    const r2 = await run('write', `clean ${dir}/ 15`, rootConf());
    expect(r2.stdout).toBe(`deleted ${dir}/twenty.log\ncleaned files=1 bytes=1\n`);
  });

  it('cleans the root itself and a single regular file', async () => {
    const dir = fresh();
    aged(join(dir, 'one.log'), 10, 'abc');
    aged(join(dir, 'young.log'), 1, 'abc');
    const c = rootConf();
    expect((await run('write', `clean ${dir}/young.log 7`, c)).stdout).toBe('cleaned files=0 bytes=0\n');
    expect((await run('write', `clean ${dir}/one.log 7`, c)).stdout).toBe(
      `deleted ${dir}/one.log\ncleaned files=1 bytes=3\n`,
    );
    aged(join(dir, 'two.log'), 10, 'abcd');
    const r = await run('write', `clean ${root} 7`, c);
    expectOk(r);
    expect(r.stdout).toMatch(new RegExp(`^deleted ${dir}/two.log$`, 'm'));
    expect(existsSync(join(dir, 'young.log'))).toBe(true);
  });

  it('lists at most 200 deleted files, then how many more', async () => {
    const dir = fresh();
    for (let i = 0; i < 205; i++) aged(join(dir, `f${i}`), 10, 'z');
    const r = await run('write', `clean ${dir} 7`, rootConf());
    expectOk(r);
    const out = r.stdout.split('\n').filter(Boolean);
    expect(out).toHaveLength(202);
    expect(out.slice(0, 200).every((l) => l.startsWith(`deleted ${dir}/f`))).toBe(true);
    expect(out.slice(200)).toEqual(['... and 5 more', 'cleaned files=205 bytes=205']);
  });

  it('never goes below 7 days, whatever the config says, nor above 3650', async () => {
    const dir = fresh();
    aged(join(dir, 'four.log'), 4);
    const low = rootConf('clean_min_age_days = 3\n');
    expectRefused(await run('write', `clean ${dir} 3`, low), /MIN_AGE_DAYS must be a whole number 7\.\.3650/);
    expectRefused(await run('write', `clean ${dir} 6`, low), /MIN_AGE_DAYS/);
    expectRefused(await run('write', `clean ${dir} 0`, low), /MIN_AGE_DAYS/);
    expectRefused(await run('write', `clean ${dir} 007`, low), /MIN_AGE_DAYS/);
    expectRefused(await run('write', `clean ${dir} -7`, low), /MIN_AGE_DAYS/);
    expectRefused(await run('write', `clean ${dir} 3651`, low), /MIN_AGE_DAYS/);
    expectOk(await run('write', `clean ${dir} 7`, low));
    const high = rootConf('clean_min_age_days = 30\n');
    expectRefused(await run('write', `clean ${dir} 29`, high), /30\.\.3650/);
    expectOk(await run('write', `clean ${dir} 30`, high));
    expect(existsSync(join(dir, 'four.log'))).toBe(true);
  });

  it('does not follow a symlink inside the root that points outside', async () => {
    const dir = fresh();
    const victim = join(outside, `victim-${n}.log`);
    const victimDir = join(outside, `victim-dir-${n}`);
    aged(victim, 30);
    mkdirSync(victimDir);
    aged(join(victimDir, 'inner.log'), 30);
    symlinkSync(victim, join(dir, 'link.log'));
    symlinkSync(victimDir, join(dir, 'linkdir'));
    aged(join(dir, 'real.log'), 30);
    const r = await run('write', `clean ${dir} 7`, rootConf());
    expect(r.stdout).toBe(`deleted ${dir}/real.log\ncleaned files=1 bytes=1\n`);
    expect(existsSync(victim)).toBe(true);
    expect(existsSync(join(victimDir, 'inner.log'))).toBe(true);
    expect(existsSync(join(dir, 'link.log'))).toBe(true);
  });

  it('refuses a PATH that is a symlink, even to a directory inside the root', async () => {
    const dir = fresh();
    aged(join(dir, 'old.log'), 30);
    symlinkSync(dir, join(root, `link-${n}`));
    symlinkSync(outside, join(root, `out-${n}`));
    const c = rootConf();
    expectRefused(await run('write', `clean ${root}/link-${n} 7`, c), /is a symlink/);
    expectRefused(await run('write', `clean ${root}/link-${n}/ 7`, c), /is a symlink/);
    expectRefused(await run('write', `clean ${root}/out-${n} 7`, c), /is a symlink/);
    // Through a symlinked parent: resolves outside the root.
    expectRefused(await run('write', `clean ${root}/out-${n}/. 7`, c), /not under any/);
    expect(existsSync(join(dir, 'old.log'))).toBe(true);
  });

  it('refuses paths outside the roots, relative paths, .. components and missing paths', async () => {
    aged(join(outside, 'keep.log'), 30);
    const c = rootConf();
    expectRefused(await run('write', `clean ${outside} 7`, c), /not under any of this host's clean_roots/);
    expectRefused(await run('write', `clean ${root}/../outside 7`, c), /\.\. component/);
    expectRefused(await run('write', `clean ${root}/.. 7`, c), /\.\. component/);
    expectRefused(await run('write', 'clean /var/log/../etc 7', c), /\.\. component/);
    expectRefused(await run('write', 'clean /var/log/../etc 7', conf('')), /\.\. component/);
    expectRefused(await run('write', 'clean var/log 7', c), /absolute/);
    expectRefused(await run('write', `clean ${root}/missing 7`, c), /does not exist/);
    expectRefused(await run('write', `clean ${root}x 7`, c), /does not exist|not under/);
    expect(existsSync(join(outside, 'keep.log'))).toBe(true);
  });

  it('refuses a bind mount under the root, and the files behind it survive', async () => {
    const dir = fresh();
    const src = join(outside, `bound-src-${n}`);
    mkdirSync(src);
    aged(join(src, 'precious.log'), 30);
    const target = join(dir, 'sub');
    mkdirSync(target);
    execFileSync('mount', ['--bind', src, target]);
    mounts.push(target);
    // mountinfo escapes the space in this one (\040).
    const spaced = fresh();
    const spacedTarget = join(spaced, 'a b');
    mkdirSync(spacedTarget);
    execFileSync('mount', ['--bind', src, spacedTarget]);
    mounts.push(spacedTarget);
    try {
      expectRefused(
        await run('write', `clean ${spaced} 7`, rootConf()),
        new RegExp(`mount point under PATH ${spaced}: ${spacedTarget}\n`),
      );
      const c = rootConf();
      expectRefused(
        await run('write', `clean ${dir} 7`, c),
        new RegExp(`mount point under PATH ${dir}: ${target}`),
      );
      expectRefused(await run('write', `clean ${root} 7`, c), /mount point under PATH/);
      expectRefused(await run('write', `clean ${target} 7`, c), /is a mount point/);
      expectRefused(await run('write', `clean ${target}/precious.log 7`, c), /under the mount point/);
      expect(existsSync(join(src, 'precious.log'))).toBe(true);
    } finally {
      for (const m of [spacedTarget, target]) {
        execFileSync('umount', [m]);
        mounts.splice(mounts.indexOf(m), 1);
      }
    }
  });

  it('refuses another filesystem mounted at PATH', async () => {
    const dir = fresh();
    const target = join(dir, 'tmpfs');
    mkdirSync(target);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'hermes-test', target]);
    mounts.push(target);
    try {
      aged(join(target, 'old.log'), 30);
      expectRefused(await run('write', `clean ${target} 7`, rootConf()), /another filesystem/);
      expect(existsSync(join(target, 'old.log'))).toBe(true);
    } finally {
      execFileSync('umount', [target]);
      mounts.pop();
    }
  });

  it('never cleans a protected root, even when configured', async () => {
    expectRefused(await run('write', 'clean /etc 7', conf('clean_roots = /etc\n')), /protected/);
    expectRefused(await run('write', 'clean /etc/ 7', conf('clean_roots = /etc/\n')), /protected/);
    expectRefused(await run('write', 'clean /usr/bin 7', conf('clean_roots = /usr /etc\n')), /protected/);
    const dir = fresh();
    aged(join(dir, 'old.log'), 30);
    expectRefused(await run('write', `clean ${dir} 7`, conf('clean_roots = /\n')), /protected/);
    expect(existsSync(join(dir, 'old.log'))).toBe(true);
  });

  it('refuses a PATH that is neither a directory nor a regular file', async () => {
    const dir = fresh();
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    expectRefused(
      await run('write', `clean ${dir}/fifo 7`, rootConf()),
      /neither a directory nor a regular file/,
    );
  });
});

describe('request log', () => {
  const entries = (file: string) =>
    readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => line.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ hermes-remote\[\d+\]: /, ''));

  it('appends every request, its words, exit status and any refusal to the request_log file', async () => {
    const log = join(base, 'requests.log');
    const c = conf(
      `request_log = ${log}\nstatus = ${fakeCtl} status {unit}\nrestart = ${fakeCtl} restart {unit}\n`,
    );
    const client = { SSH_CLIENT: '10.0.0.7 50022 22' };
    expectOk(await run('read', 'status nginx', c, client));
    expect((await run('write', 'restart fail', c, client)).code).toBe(5);
    expectRefused(await run('read', 'restart "nginx', c, client), /not allowed with the read key/);
    expectRefused(await run('write', 'restart', c));
    expect(entries(log)).toEqual([
      'key=read from=10.0.0.7 request="status nginx" exit=0',
      'key=write from=10.0.0.7 request="restart fail" exit=5',
      'key=read from=10.0.0.7 request="restart ?nginx" exit=2 refused="restart is not allowed with the read key"',
      'key=write from=local request="restart" exit=2 refused="restart takes 1 argument(s): restart UNIT"',
    ]);
  });

  it('goes to syslog (logger -t hermes-remote) by default and when the file cannot be written', async () => {
    const bin = join(base, 'logger-bin');
    mkdirSync(bin, { recursive: true });
    const syslog = join(base, 'syslog.txt');
    writeFileSync(join(bin, 'logger'), `#!/bin/sh\necho "$*" >> '${syslog}'\n`, { mode: 0o755 });
    const env = { PATH: `${bin}:${process.env.PATH}` };
    expectOk(await run('read', 'diag uptime', conf(''), env));
    const unwritable = conf(`request_log = ${join(base, 'no-such-dir', 'requests.log')}\n`);
    expectRefused(await run('read', 'diag nope', unwritable, env));
    expect(readFileSync(syslog, 'utf8').split('\n')).toEqual([
      '-t hermes-remote -p auth.info -- key=read from=local request="diag uptime" exit=0',
      '-t hermes-remote -p auth.info -- key=read from=local request="diag nope" exit=2 refused="diagnostic nope is not configured on this host"',
      '',
    ]);
  });

  it('check mode validates the config without a request and logs nothing', async () => {
    const log = join(base, 'check.log');
    writeFileSync(log, '');
    const good = conf(`request_log = ${log}\n`);
    const r = await run('check', undefined, good);
    expectOk(r);
    expect(r.stdout).toBe(`hermes-remote: config ${good} is valid\n`);
    expectRefused(
      await run('check', undefined, conf('request_log = relative.log\n')),
      /line 1: request_log must be syslog or an absolute path/,
    );
    expect(readFileSync(log, 'utf8')).toBe('');
  });
});
