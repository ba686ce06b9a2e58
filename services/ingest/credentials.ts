import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { loadYamlConfig } from '../../shared/yaml-config.js';

/**
 * What a named credential may do. Each role includes the ones before it: a viewer reads; an operator
 * also acknowledges, resolves, re-runs, pauses, resumes and resets the breaker; an approver also
 * approves and denies. `admin` is the break-glass ADMIN_TOKEN (and this machine when no token is set).
 */
export const roleSchema = z.enum(['viewer', 'operator', 'approver']);
export type Role = z.infer<typeof roleSchema>;
export type AccessRole = Role | 'admin';

const RANK: Record<AccessRole, number> = { viewer: 0, operator: 1, approver: 2, admin: 3 };

export function roleAllows(role: AccessRole, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** A person's name as recorded: no `+`, which marks break-glass uses (`alice+break-glass`). */
export const userNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'a name is 1-64 characters of [A-Za-z0-9_.@-]');

export const tokenHashSchema = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/, 'token_hash is sha256:<64 lowercase hex digits> (hermes users hash-token)');

const usersFileSchema = z
  .object({
    users: z
      .array(z.strictObject({ name: userNameSchema, role: roleSchema, token_hash: tokenHashSchema }))
      .max(1_000),
  })
  .superRefine(({ users }, ctx) => {
    const names = new Set<string>();
    const hashes = new Set<string>();
    users.forEach((user, i) => {
      if (names.has(user.name))
        ctx.addIssue({ code: 'custom', path: ['users', i, 'name'], message: `${user.name} is listed twice` });
      if (hashes.has(user.token_hash))
        ctx.addIssue({
          code: 'custom',
          path: ['users', i, 'token_hash'],
          message: 'two users share this token',
        });
      names.add(user.name);
      hashes.add(user.token_hash);
    });
  });
export type NamedUser = z.infer<typeof usersFileSchema>['users'][number];

/** USERS_FILE, validated; a problem stops ingest with its file, line and field. */
export function loadUsers(path: string): NamedUser[] {
  return loadYamlConfig(path, usersFileSchema, 'users (USERS_FILE)').users;
}

/** How a token is stored in USERS_FILE. Tokens are long random strings, so a plain digest suffices. */
export function hashToken(token: string): string {
  return `sha256:${createHash('sha256').update(token).digest('hex')}`;
}

/** Who a request acts as. */
export interface Principal {
  /** The recorded name, when the credential says it: a named token, or a console session. */
  name?: string;
  role: AccessRole;
  /** The break-glass ADMIN_TOKEN: it may name anyone, and every name it records is marked. */
  breakGlass: boolean;
  via: 'token' | 'session' | 'local';
}

/** A configured credential: what it makes a request, and a fingerprint that changes with its token. */
export interface Credential {
  principal: Principal;
  fingerprint: string;
}

interface Entry extends Credential {
  digest: Buffer;
}

const fingerprintOf = (digest: Buffer) =>
  createHash('sha256').update('hermes-credential\n').update(digest).digest('hex').slice(0, 32);

/**
 * The tokens that open the API, the console and Bull Board: the break-glass ADMIN_TOKEN and each
 * named user's. None configured means open mode: this machine only.
 */
export class Credentials {
  private readonly entries: Entry[];

  constructor(adminToken: string | undefined, users: readonly NamedUser[]) {
    const admin: Entry[] = adminToken
      ? [
          entry(createHash('sha256').update(adminToken).digest(), {
            role: 'admin',
            breakGlass: true,
            via: 'token',
          }),
        ]
      : [];
    this.entries = [
      ...admin,
      ...users.map((user) =>
        entry(Buffer.from(user.token_hash.slice('sha256:'.length), 'hex'), {
          name: user.name,
          role: user.role,
          breakGlass: false,
          via: 'token',
        }),
      ),
    ];
  }

  /** No token is configured: only this machine may use the API and the console. */
  get open(): boolean {
    return this.entries.length === 0;
  }

  /** The credential a presented token is, compared in constant time with every configured one. */
  identify(presented: string): Credential | undefined {
    const digest = createHash('sha256').update(presented).digest();
    let found: Entry | undefined;
    for (const candidate of this.entries)
      if (timingSafeEqual(digest, candidate.digest) && !found) found = candidate;
    return found && { principal: found.principal, fingerprint: found.fingerprint };
  }

  /** Whether a credential a session was opened with is still configured with the same token. */
  has(fingerprint: string): boolean {
    return this.entries.some((candidate) => candidate.fingerprint === fingerprint);
  }
}

function entry(digest: Buffer, principal: Principal): Entry {
  return { digest, principal, fingerprint: fingerprintOf(digest) };
}
