import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestUser {
  name: string;
  role: 'viewer' | 'operator' | 'approver';
  token: string;
}

/** A USERS_FILE naming each user with the sha256 of their token, as `hermes users hash-token` prints it. */
export function writeUsersFile(users: TestUser[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'hermes-users-')), 'users.yaml');
  const lines = users.flatMap((user) => [
    `  - name: ${user.name}`,
    `    role: ${user.role}`,
    `    token_hash: sha256:${createHash('sha256').update(user.token).digest('hex')}`,
  ]);
  writeFileSync(path, `users:\n${lines.join('\n')}\n`);
  return path;
}
