import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CookieOptions } from 'hono/utils/cookie';
import { z } from 'zod';
import type { Keyspace } from '../../shared/keys.js';
import type { RedisConnection } from '../../shared/redis.js';
import { roleSchema } from './credentials.js';

export const SESSION_COOKIE = 'hermes_session';
export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_TTL_SECONDS = 12 * 3600;

/** Who signed in: recorded as `by` on everything done from the console. */
export const sessionUserSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.@+-]{1,100}$/, 'name is 1-100 characters of [A-Za-z0-9_.@+-]');

const sessionRecordSchema = z.object({
  name: sessionUserSchema,
  role: z.union([roleSchema, z.literal('admin')]),
  breakGlass: z.boolean(),
  /** The credential it was opened with (credentials.ts fingerprint), or `local` without tokens. */
  credential: z.string().max(100),
  expiresAt: z.number(),
});
export type SessionRecord = z.infer<typeof sessionRecordSchema>;
/** What signing in decides; the expiry is the session's own. */
export type NewSession = Omit<SessionRecord, 'expiresAt'>;

export interface Session extends SessionRecord {
  /** Sent back by the page in the x-csrf-token header on every mutating request. */
  csrf: string;
  /** Where it is stored: deleting it signs the session out everywhere. */
  key: string;
}

/**
 * The cookie is 32 random bytes; Redis keeps only their digest, so reading Redis opens no session.
 * Not Hono's setSignedCookie: an unguessable value looked up in Redis needs no signature, and a
 * signing secret would be one more secret to configure, share between replicas and rotate.
 */
const COOKIE = /^[A-Za-z0-9_-]{43}$/;

/** Constant-time for equal lengths; a MAC's length is public, so a length mismatch may return early. */
export function macEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Console sessions, kept in Redis (so every replica knows them) until they expire or are signed out.
 * Each names who signed in, their role and the credential they used.
 */
export class Sessions {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
  ) {}

  /** A new session; returns the cookie value. */
  async issue(record: NewSession, now = Date.now()): Promise<string> {
    const cookie = randomBytes(32).toString('base64url');
    const stored = sessionRecordSchema.parse({ ...record, expiresAt: now + SESSION_TTL_SECONDS * 1000 });
    await this.redis.set(this.keyOf(cookie), JSON.stringify(stored), 'PXAT', stored.expiresAt);
    return cookie;
  }

  async read(cookie: string | undefined, now = Date.now()): Promise<Session | null> {
    if (!cookie || !COOKIE.test(cookie)) return null;
    const key = this.keyOf(cookie);
    const raw = await this.redis.get(key);
    if (!raw) return null;
    let stored: unknown;
    try {
      stored = JSON.parse(raw);
    } catch {
      return null;
    }
    const record = sessionRecordSchema.safeParse(stored);
    if (!record.success || record.data.expiresAt <= now) return null;
    const csrf = createHmac('sha256', cookie).update('hermes-console-csrf').digest('base64url');
    return { ...record.data, csrf, key };
  }

  async revoke(session: Session): Promise<void> {
    await this.redis.del(session.key);
  }

  private keyOf(cookie: string): string {
    return this.keys.session(createHash('sha256').update(cookie).digest('hex'));
  }
}

/** The session cookie's attributes: script-proof, same-site only, `Secure` behind HTTPS. */
export function sessionCookieOptions(secure: boolean): CookieOptions {
  return { path: '/', httpOnly: true, sameSite: 'Strict', maxAge: SESSION_TTL_SECONDS, secure };
}
