import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigFileError } from '../../../shared/yaml-config.js';
import { openTestRedis } from '../../../test/support/redis.js';
import { Credentials, hashToken, loadUsers, roleAllows } from '../credentials.js';
import { startTestIngest } from './harness.js';

function usersFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'hermes-users-')), 'users.yaml');
  writeFileSync(path, text);
  return path;
}

describe('USERS_FILE', () => {
  it('loads the shipped example', () => {
    expect(loadUsers('config/users.yaml.example').map(({ name, role }) => [name, role])).toEqual([
      ['alice', 'approver'],
      ['bob', 'operator'],
      ['dashboard', 'viewer'],
    ]);
  });

  it('names the file, line and field of each problem', () => {
    const hash = hashToken('a-token-long-enough-to-use-0001');
    const path = usersFile(
      [
        'users:',
        '  - name: alice',
        '    role: approver',
        `    token_hash: ${hash}`,
        '  - name: alice',
        '    role: admin',
        '    token_hash: md5:abc',
        '  - name: "carol+break-glass"',
        '    role: viewer',
        `    token_hash: ${hash}`,
        '    password: x',
      ].join('\n'),
    );
    let message = '';
    try {
      loadUsers(path);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigFileError);
      message = (error as Error).message;
    }
    expect(message).toContain(`${path}:6:11: users.1.role:`);
    expect(message).toContain(
      `${path}:7:17: users.1.token_hash: token_hash is sha256:<64 lowercase hex digits>`,
    );
    expect(message).toContain(`${path}:8:11: users.2.name: a name is 1-64 characters of [A-Za-z0-9_.@-]`);
    expect(message).toMatch(/users\.2: Unrecognized key: "password"/);
  });

  it('refuses two people with one name or one token', () => {
    const hash = hashToken('a-token-long-enough-to-use-0002');
    const entry = (name: string) => `  - { name: ${name}, role: viewer, token_hash: "${hash}" }`;
    expect(() => loadUsers(usersFile(['users:', entry('ann'), entry('ann')].join('\n')))).toThrow(
      /users\.1\.name: ann is listed twice.*users\.1\.token_hash: two users share this token/,
    );
  });

  it('stops ingest at start when the file is unusable', async () => {
    const t = await openTestRedis();
    try {
      await expect(startTestIngest(t, { USERS_FILE: usersFile('users: [') })).rejects.toThrow(
        ConfigFileError,
      );
    } finally {
      await t.close();
    }
  });
});

describe('credentials', () => {
  const alice = 'alice-token-0123456789abcdef';
  const users = [{ name: 'alice', role: 'operator' as const, token_hash: hashToken(alice) }];

  it('recognises each configured token, and nothing else', () => {
    const credentials = new Credentials('break-glass-token', users);
    expect(credentials.identify(alice)?.principal).toEqual({
      name: 'alice',
      role: 'operator',
      breakGlass: false,
      via: 'token',
    });
    expect(credentials.identify('break-glass-token')?.principal).toEqual({
      role: 'admin',
      breakGlass: true,
      via: 'token',
    });
    for (const wrong of ['', 'alice', `${alice}x`, alice.slice(0, -1), hashToken(alice)])
      expect(credentials.identify(wrong), wrong).toBeUndefined();
    expect(credentials.open).toBe(false);
    expect(new Credentials(undefined, []).open).toBe(true);
  });

  it('gives a credential a fingerprint that changes with its token', () => {
    const before = new Credentials(undefined, users).identify(alice)?.fingerprint ?? '';
    const rotated = new Credentials(undefined, [
      { ...users[0], token_hash: hashToken('a-new-token-for-alice-000') },
    ] as typeof users);
    expect(rotated.has(before)).toBe(false);
    expect(new Credentials(undefined, users).has(before)).toBe(true);
  });

  it('ranks roles: approver includes operator includes viewer; admin has them all', () => {
    expect(roleAllows('approver', 'operator')).toBe(true);
    expect(roleAllows('operator', 'approver')).toBe(false);
    expect(roleAllows('viewer', 'operator')).toBe(false);
    expect(roleAllows('admin', 'approver')).toBe(true);
  });
});
