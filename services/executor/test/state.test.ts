import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../../shared/audit-chain.js';
import { createLogger } from '../../../shared/logger.js';
import { type BreakerOpening, breakerOpenNotice } from '../../../shared/notices.js';
import { NotificationOutbox } from '../../../shared/outbox.js';
import { createQueue, QUEUE } from '../../../shared/queues.js';
import type { NotificationJob } from '../../../shared/schemas/jobs.js';
import { openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import { AuditLog } from '../audit.js';
import { CircuitBreaker } from '../breaker.js';
import { RateLimiter } from '../rate-limit.js';

let t: TestRedis;
beforeEach(async () => {
  t = await openTestRedis();
});
afterEach(async () => {
  await t.close();
});

describe('audit chain', () => {
  it('chains concurrent appends from several writers without forking', async () => {
    const second = t.redis.duplicate();
    const writers = [new AuditLog(t.redis, t.keys), new AuditLog(second, t.keys)];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (writers[i % 2] as AuditLog).append({ n: i, decision: 'executed' }),
      ),
    );
    second.disconnect();
    expect(await verifyAuditChain(t.redis, t.keys)).toEqual({
      ok: true,
      entries: 40,
      trimmed: false,
      lastSeq: 40,
    });
  });

  it('detects an edited entry', async () => {
    const audit = new AuditLog(t.redis, t.keys);
    for (let i = 0; i < 5; i++) await audit.append({ n: i, decision: i === 2 ? 'blocked' : 'executed' });
    const entries = (await t.redis.xrange(t.keys.audit, '-', '+')) as [string, string[]][];
    // Rewrite the stream with entry 2's decision changed but its stored hashes kept.
    await t.redis.del(t.keys.audit);
    for (const [id, fields] of entries) {
      const edited = fields.map((f) => f.replace('"decision":"blocked"', '"decision":"executed"'));
      await t.redis.xadd(t.keys.audit, id, ...edited);
    }
    const result = await verifyAuditChain(t.redis, t.keys);
    expect(result).toMatchObject({ ok: false, entries: 2, trimmed: false, brokenAt: entries[2]?.[0] });
  });

  it('detects a removed last entry through the head', async () => {
    const audit = new AuditLog(t.redis, t.keys);
    for (let i = 0; i < 3; i++) await audit.append({ n: i });
    const last = (await t.redis.xrevrange(t.keys.audit, '+', '-', 'COUNT', 1))[0]?.[0] as string;
    await t.redis.xdel(t.keys.audit, last);
    expect(await verifyAuditChain(t.redis, t.keys)).toMatchObject({
      ok: false,
      entries: 2,
      trimmed: false,
      brokenAt: 'head',
    });
  });

  it('detects the newest entry removed with the head and counter rewound, against a witness', async () => {
    const audit = new AuditLog(t.redis, t.keys);
    let witness = { seq: 0, hash: '' };
    for (let i = 0; i < 3; i++) witness = await audit.append({ n: i });
    const [last, previous] = (await t.redis.xrevrange(t.keys.audit, '+', '-', 'COUNT', 2)) as [
      string,
      string[],
    ][];
    // A careful intruder: drop the newest entry and make head and counter point at the one before.
    await t.redis.xdel(t.keys.audit, last?.[0] as string);
    await t.redis.set(t.keys.auditHead, previous?.[1][previous[1].indexOf('hash') + 1] as string);
    await t.redis.set(t.keys.auditSeq, '2');
    // Redis alone cannot tell (said so in the README) ...
    expect(await verifyAuditChain(t.redis, t.keys)).toMatchObject({ ok: true, entries: 2, lastSeq: 2 });
    // ... the position the executor logged with its decision can.
    expect(await verifyAuditChain(t.redis, t.keys, { witness })).toMatchObject({
      ok: false,
      brokenAt: 'witness',
      problem: 'entry 3 was witnessed but the chain ends at 2: entries were removed at the newest end',
    });
  });

  it('detects the counter moved back without the entries', async () => {
    const audit = new AuditLog(t.redis, t.keys);
    for (let i = 0; i < 3; i++) await audit.append({ n: i });
    await t.redis.set(t.keys.auditSeq, '2');
    expect(await verifyAuditChain(t.redis, t.keys)).toMatchObject({ ok: false, brokenAt: 'seq' });
  });

  it('detects a removed middle entry', async () => {
    const audit = new AuditLog(t.redis, t.keys);
    for (let i = 0; i < 3; i++) await audit.append({ n: i });
    const entries = await t.redis.xrange(t.keys.audit, '-', '+');
    await t.redis.xdel(t.keys.audit, entries[1]?.[0] as string);
    expect(await verifyAuditChain(t.redis, t.keys)).toMatchObject({ ok: false, brokenAt: entries[2]?.[0] });
  });
});

describe('rate limiter', () => {
  it('never lets concurrent takers overshoot a limit', async () => {
    const limiter = new RateLimiter(t.redis, t.keys);
    const limits = [{ name: 'restart:api', max: 3, windowMs: 3_600_000 }];
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => limiter.take(`a${i}`, limits)));
    expect(results.filter((r) => r.ok)).toHaveLength(3);
  });

  it('takes nothing from any window when one of them is full', async () => {
    const limiter = new RateLimiter(t.redis, t.keys);
    const global = { name: 'global', max: 10, windowMs: 3_600_000 };
    const tight = { name: 'tool:x', max: 1, windowMs: 3_600_000 };
    expect((await limiter.take('a1', [global, tight])).ok).toBe(true);
    expect(await limiter.take('a2', [global, tight])).toMatchObject({ ok: false, limit: tight, count: 1 });
    expect(await t.redis.zcard(t.keys.exec('rl:global'))).toBe(1);
  });

  it('rolls the window: old entries stop counting', async () => {
    const limiter = new RateLimiter(t.redis, t.keys);
    const limit = [{ name: 'w', max: 2, windowMs: 60_000 }];
    const start = 1_700_000_000_000;
    expect((await limiter.take('a', limit, start)).ok).toBe(true);
    expect((await limiter.take('b', limit, start + 30_000)).ok).toBe(true);
    expect((await limiter.take('c', limit, start + 59_000)).ok).toBe(false);
    expect((await limiter.take('d', limit, start + 61_000)).ok).toBe(true);
  });
});

describe('audit retention', () => {
  it('keeps the newest entries and still verifies them, from the hash of the last one dropped', async () => {
    const audit = new AuditLog(t.redis, t.keys, 100);
    for (let i = 0; i < 250; i++) await audit.append({ n: i, decision: 'executed' });
    const kept = (await t.redis.xrange(t.keys.audit, '-', '+')) as [string, string[]][];
    expect(kept.length).toBeGreaterThanOrEqual(100);
    expect(kept.length).toBeLessThanOrEqual(101);
    expect(kept.at(-1)?.[1]).toContain('{"decision":"executed","n":249,"seq":250}');
    expect(await verifyAuditChain(t.redis, t.keys, { maxEntries: 100 })).toEqual({
      ok: true,
      entries: kept.length,
      trimmed: true,
      lastSeq: 250,
    });

    // Dropping one more by hand (not through a trim) breaks the chain at the new first entry.
    await t.redis.xdel(t.keys.audit, kept[0]?.[0] as string);
    expect(await verifyAuditChain(t.redis, t.keys)).toMatchObject({ ok: false, brokenAt: kept[1]?.[0] });

    // Moving the anchor along to hide it: the chain verifies, but fewer entries are kept than
    // retention ever leaves, so the removal at the oldest end shows.
    const first = kept[0]?.[1] as string[];
    const firstSeq = JSON.parse(first[first.indexOf('data') + 1] as string).seq as number;
    await t.redis.set(t.keys.auditAnchor, `${firstSeq}:${first[first.indexOf('hash') + 1]}`);
    expect(await verifyAuditChain(t.redis, t.keys)).toMatchObject({ ok: true });
    expect(await verifyAuditChain(t.redis, t.keys, { maxEntries: kept.length })).toMatchObject({
      ok: false,
      brokenAt: 'anchor',
    });
  });
});

describe('circuit breaker', () => {
  const settings = { failureThreshold: 2, windowSeconds: 60, cooldownSeconds: 30 };
  const t0 = 1_700_000_000_000;

  it('opens after N failures in the window, half-opens after the cooldown, closes on success', async () => {
    const breaker = new CircuitBreaker(t.redis, t.keys, settings);
    expect((await breaker.recordFailure('f1', t0)).opened).toBe(false);
    expect((await breaker.check('a1', t0 + 1)).allowed).toBe(true);
    expect((await breaker.recordFailure('f2', t0 + 2)).opened).toBe(true);
    expect((await breaker.recordFailure('f3', t0 + 3)).opened).toBe(false);
    expect(await breaker.check('a2', t0 + 10_000)).toMatchObject({ allowed: false });
    // After the cooldown: one probe at a time.
    expect((await breaker.check('probe', t0 + 31_000)).allowed).toBe(true);
    expect(await breaker.check('other', t0 + 31_001)).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('half-open'),
    });
    await breaker.recordSuccess();
    expect((await breaker.check('other', t0 + 31_002)).allowed).toBe(true);
    expect((await breaker.state()).state).toBe('closed');
  });

  it('re-opens when the half-open probe fails', async () => {
    const breaker = new CircuitBreaker(t.redis, t.keys, settings);
    await breaker.recordFailure('f1', t0);
    await breaker.recordFailure('f2', t0);
    expect((await breaker.check('probe', t0 + 31_000)).allowed).toBe(true);
    expect((await breaker.recordFailure('probe-failed', t0 + 32_000)).opened).toBe(true);
    expect((await breaker.check('next', t0 + 33_000)).allowed).toBe(false);
  });

  it('records the page in the outbox with the opening, with the count, so dying right after cannot lose it', async () => {
    const breaker = new CircuitBreaker(t.redis, t.keys, settings);
    const notice =
      (n: number) =>
      (opening: BreakerOpening): NotificationJob => ({
        eventId: `breaker-${t0 + n}`,
        incidentId: 'inc_1',
        event: 'breaker_open',
        severity: 'critical',
        title: 'breaker open',
        text:
          opening.kind === 'threshold' ? `${opening.failures} failures in the window` : 'the probe failed',
        details: { failures: 0, trigger: `f${n}` },
      });
    await breaker.recordFailure('f1', t0 + 1, notice(1));
    expect(await t.redis.hlen(t.keys.outbox('executor'))).toBe(0);
    expect((await breaker.recordFailure('f2', t0 + 2, notice(2))).opened).toBe(true);

    const queue = createQueue<NotificationJob>(QUEUE.notifications.executor, t.redis, t.keys.bullPrefix);
    try {
      // The executor died before queueing it: the notifier's relay does.
      const outbox = new NotificationOutbox(t.redis, t.keys, 'executor', queue);
      expect(await outbox.relay(0, createLogger('notifier', 'silent'))).toBe(1);
      expect((await queue.getJob(`breaker-${t0 + 2}`))?.data).toMatchObject({
        event: 'breaker_open',
        text: '2 failures in the window',
        details: { failures: 2, trigger: 'f2' },
      });
    } finally {
      await queue.close();
    }
  });

  it("records the failed probe's own page when a failed probe opens it again", async () => {
    const breaker = new CircuitBreaker(t.redis, t.keys, settings);
    const notice = (opening: BreakerOpening): NotificationJob =>
      breakerOpenNotice('inc_1', 'failed:probe', t0 + 32_000, opening);
    await breaker.recordFailure('f1', t0);
    await breaker.recordFailure('f2', t0);
    expect((await breaker.check('probe', t0 + 31_000)).allowed).toBe(true);
    expect((await breaker.recordFailure('failed:probe', t0 + 32_000, notice)).opened).toBe(true);

    const recorded = await t.redis.hget(t.keys.outbox('executor'), `breaker-${t0 + 32_000}`);
    expect(JSON.parse(recorded ?? '{}').job).toMatchObject({
      text: expect.stringMatching(/^The probe let through after the cooldown failed \(failed:probe\)/),
      details: { failures: 3, trigger: 'failed:probe' },
    });
  });

  it('forgets failures older than the window', async () => {
    const breaker = new CircuitBreaker(t.redis, t.keys, settings);
    await breaker.recordFailure('f1', t0);
    expect((await breaker.recordFailure('f2', t0 + 61_000)).opened).toBe(false);
  });
});
