/**
 * config/redis-acl against the key layout (shared/keys.ts KEY_WRITERS, QUEUE_WRITERS): every key a
 * service writes is writable by that service's ACL user and by no other. Asked of a real redis-server
 * loaded with the shipped file, by ACL DRYRUN (nothing is written).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KEY_WRITERS, keyspace, QUEUE_WRITERS, type Writer } from '../../shared/keys.js';
import { NOTICE_SOURCES } from '../../shared/queues.js';
import { type LocalRedis, startRedisServer } from '../support/redis-server.js';

const WRITERS: readonly Writer[] = ['ingest', 'triage', 'executor', 'notifier'];
const keys = keyspace('hermes');

/** Ids, names or suffixes each key builder is tried with. */
const SAMPLES: Partial<Record<keyof typeof KEY_WRITERS, readonly string[]>> = {
  incidentStatusIndex: ['open', 'resolved'],
  groups: ['29420'],
  legacyGroup: ['9f86d081884c7d65'],
  guesses: ['address:203.0.113.9', 'token:3a7bd3e2'],
  session: ['c0ffee'],
  approval: ['apr_1'],
  exec: ['mode', 'breaker', 'breaker:failures', 'claim:act_1', 'rl:global', 'dry-run:breaker'],
  outbox: NOTICE_SOURCES,
  notify: ['email-digest', 'slack-thread:inc_1', 'done:opened-inc_1:slack'],
  triage: ['seen'],
  configVersion: WRITERS,
};

/** Every key of the layout, with the services that write it. */
function layout(): [key: string, writers: readonly Writer[]][] {
  const rows: [string, readonly Writer[]][] = [];
  for (const [name, writers] of Object.entries(KEY_WRITERS) as [keyof typeof KEY_WRITERS, unknown][]) {
    const make = keys[name] as string | ((arg: string) => string);
    if (typeof make === 'string') rows.push([make, writers as readonly Writer[]]);
    else
      for (const sample of SAMPLES[name] ?? ['inc_1']) {
        const who = typeof writers === 'function' ? writers(sample) : writers;
        rows.push([make(sample), who as readonly Writer[]]);
      }
  }
  for (const [queue, writers] of Object.entries(QUEUE_WRITERS))
    for (const part of ['wait', 'meta', 'job_1', 'events'])
      rows.push([`${keys.bullPrefix}:${queue}:${part}`, writers]);
  return rows;
}

let dir: string;
let server: LocalRedis;
let admin: Redis;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hermes-acl-layout-'));
  // `default` stays on only so this test can ask (the shipped file turns it off).
  const acl = readFileSync('config/redis-acl', 'utf8').replace(
    'user default off',
    'user default on nopass ~* &* +@all',
  );
  writeFileSync(join(dir, 'users.acl'), acl);
  server = await startRedisServer(['--aclfile', join(dir, 'users.acl')]);
  admin = new Redis(server.url, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function mayWrite(user: Writer, key: string): Promise<boolean> {
  const reply = await admin.call('ACL', 'DRYRUN', user, 'SET', key, 'x');
  return reply === 'OK';
}

it('names writers for every key of the keyspace', () => {
  const named = Object.keys(keyspace('hermes')).filter((name) => name !== 'bullPrefix');
  expect(Object.keys(KEY_WRITERS).sort()).toEqual(named.sort());
});

it.each(layout())('%s: writable by exactly %j', async (key, writers) => {
  const allowed: Writer[] = [];
  for (const user of WRITERS) if (await mayWrite(user, key)) allowed.push(user);
  expect(allowed.sort()).toEqual([...writers].sort());
});
