import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalStore } from '../../shared/approvals.js';
import { shortestUniquePrefix } from '../../shared/id-prefix.js';
import { IncidentStore } from '../../shared/incidents.js';
import { IssuedIds } from '../../shared/issued-ids.js';
import { openTestRedis, type TestRedis } from '../support/redis.js';

describe('shortest unique prefix', () => {
  it('is at least 10 characters, and one past what a neighbour shares', () => {
    expect(shortestUniquePrefix('inc_mk2p9x1abc', [undefined, undefined])).toBe('inc_mk2p9x');
    expect(shortestUniquePrefix('inc_mk2p9x1abc', ['inc_mk2p9x1aaa', 'inc_mk2p9y0000'])).toBe(
      'inc_mk2p9x1ab',
    );
  });

  it('is the whole id when the id begins another', () => {
    expect(shortestUniquePrefix('inc_mk2p9x1abc-1', ['inc_mk2p9x1abc-10'])).toBe('inc_mk2p9x1abc-1');
  });
});

describe('issued ids', () => {
  let t: TestRedis;
  let ids: IssuedIds;
  const records = new Set(['apr_old_record']);
  beforeAll(async () => {
    t = await openTestRedis();
    ids = new IssuedIds(t.redis, t.keys.approvalIds, async (id) => records.has(id));
    await t.redis.zadd(t.keys.approvalIds, 0, 'apr_aaaa000001', 0, 'apr_aaaa000002', 0, 'apr_bbbb000001');
  });
  afterAll(async () => {
    await t.close();
  });

  it('resolves a whole id, a unique prefix, and refuses an ambiguous or unknown one', async () => {
    expect(await ids.resolve('apr_aaaa000002')).toEqual({ ok: true, id: 'apr_aaaa000002' });
    expect(await ids.resolve('apr_b')).toEqual({ ok: true, id: 'apr_bbbb000001' });
    expect(await ids.resolve('apr_aaaa')).toEqual({
      ok: false,
      reason: 'ambiguous',
      matches: ['apr_aaaa000001', 'apr_aaaa000002'],
    });
    expect(await ids.resolve('apr_c')).toEqual({ ok: false, reason: 'not_found', matches: [] });
    expect(await ids.resolve('apr_*')).toEqual({ ok: false, reason: 'not_found', matches: [] });
    // A record issued before the index existed is still named by its whole id.
    expect(await ids.resolve('apr_old_record')).toEqual({ ok: true, id: 'apr_old_record' });
  });

  it('shows each id by a prefix no other issued id shares', async () => {
    expect(await ids.shortIds(['apr_aaaa000001', 'apr_bbbb000001'])).toEqual(
      new Map([
        ['apr_aaaa000001', 'apr_aaaa000001'],
        ['apr_bbbb000001', 'apr_bbbb00'],
      ]),
    );
  });
});

describe('ids issued before the index', () => {
  it('join it when the service starts: incidents from the time index, approvals still pending', async () => {
    const t = await openTestRedis();
    try {
      await t.redis.zadd(t.keys.incidentIndex, 1, 'inc_early00001-1', 2, 'inc_early00002-1');
      await t.redis.zadd(t.keys.approvalsPending, 1, 'apr_early00001');
      const incidents = new IncidentStore(t.redis, t.keys);
      const approvals = new ApprovalStore(t.redis, t.keys);
      expect(await incidents.resolveId('inc_early00002')).toMatchObject({ ok: false, reason: 'not_found' });
      await incidents.indexEarlierIds();
      await approvals.indexEarlierIds();
      expect(await incidents.resolveId('inc_early00002')).toEqual({ ok: true, id: 'inc_early00002-1' });
      expect(await incidents.resolveId('inc_early')).toMatchObject({ ok: false, reason: 'ambiguous' });
      expect(await approvals.resolveId('apr_early')).toEqual({ ok: true, id: 'apr_early00001' });
    } finally {
      await t.close();
    }
  });
});
