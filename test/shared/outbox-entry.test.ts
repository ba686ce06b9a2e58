import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadLua } from '../../shared/lua.js';
import { resolvedNotice } from '../../shared/notices.js';
import { NotificationOutbox, outboxEntry } from '../../shared/outbox.js';
import { createQueue, QUEUE } from '../../shared/queues.js';
import type { NotificationJob } from '../../shared/schemas/jobs.js';
import { openTestRedis, type TestRedis } from '../support/redis.js';

let t: TestRedis;
let queue: Queue<NotificationJob>;
let dir: string;
beforeAll(async () => {
  t = await openTestRedis();
  queue = createQueue<NotificationJob>(QUEUE.notifications.executor, t.redis, t.keys.bullPrefix);
  dir = mkdtempSync(join(tmpdir(), 'outbox-entry-'));
});
afterAll(async () => {
  await queue.close();
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A script that does nothing but record a notice through the include every Lua writer uses. */
function recordNoticeScript() {
  const path = join(dir, 'record-notice-1.lua');
  writeFileSync(
    path,
    [
      '--[[',
      '  KEYS[1] an outbox',
      '  ARGV[1] the job (JSON)',
      '  ARGV[2] recorded (ms)',
      '  Returns nothing.',
      ']]',
      '--- @include "outbox-entry"',
      'record_notice(KEYS[1], cjson.decode(ARGV[1]), tonumber(ARGV[2]))',
    ].join('\n'),
  );
  return loadLua(pathToFileURL(path));
}

it('records from Lua the entry TypeScript builds, which the outbox delivers', async () => {
  const job = resolvedNotice('inc_lua');
  const key = t.keys.outbox('executor');
  await recordNoticeScript().run(t.redis, [key], [JSON.stringify(job), '1700000000000']);
  expect(JSON.parse((await t.redis.hget(key, job.eventId)) as string)).toEqual(
    JSON.parse(outboxEntry(job, 1_700_000_000_000)),
  );
  await new NotificationOutbox(t.redis, t.keys, 'executor', queue).deliverRecorded(job.eventId);
  expect((await queue.getJob(job.eventId))?.data).toEqual(job);
  expect(await t.redis.hexists(key, job.eventId)).toBe(0);
});
