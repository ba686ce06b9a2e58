import { expect, it } from 'vitest';
import { toAlert } from '../../../test/support/incidents.js';
import { RecentAlerts } from '../recent-alerts.js';

const firing = (fingerprint: string) => toAlert({ alertname: 'ServiceDown', fingerprint, startsAt: 't0' });
const resolved = (fingerprint: string) => ({ ...firing(fingerprint), status: 'resolved' as const });

it('answers a re-sent firing alert with its incident, but not its resolution', () => {
  const recent = new RecentAlerts(10, 60_000);
  recent.adopt('epoch-1');
  recent.remember(firing('a'), 'inc_a', 0, 'epoch-1');
  expect(recent.duplicateOf(firing('a'), 1)).toBe('inc_a');
  expect(recent.duplicateOf(resolved('a'), 1)).toBeUndefined();
  expect(recent.duplicateOf({ ...firing('a'), startsAt: 't1' }, 1)).toBeUndefined();
  recent.remember(resolved('a'), 'inc_a', 2, 'epoch-1');
  expect(recent.duplicateOf(resolved('a'), 3)).toBe('inc_a');
  expect(recent.duplicateOf(firing('a'), 3)).toBe('inc_a');
});

it('stops answering once an entry is older than its maximum age', () => {
  const recent = new RecentAlerts(10, 1_000);
  recent.adopt('epoch-1');
  recent.remember(firing('a'), 'inc_a', 0, 'epoch-1');
  expect(recent.duplicateOf(firing('a'), 1_000)).toBe('inc_a');
  expect(recent.duplicateOf(firing('a'), 1_001)).toBeUndefined();
});

it('holds at most its capacity, dropping the oldest half first', () => {
  const recent = new RecentAlerts(4, 60_000);
  recent.adopt('epoch-1');
  for (const fp of ['a', 'b', 'c']) recent.remember(firing(fp), `inc_${fp}`, 0, 'epoch-1');
  expect(recent.size).toBe(3);
  expect(['a', 'b', 'c'].map((fp) => recent.duplicateOf(firing(fp), 1))).toEqual(['inc_a', 'inc_b', 'inc_c']);
  recent.remember(firing('d'), 'inc_d', 1, 'epoch-1');
  expect(recent.size).toBe(2);
  expect(['a', 'b', 'c', 'd'].map((fp) => recent.duplicateOf(firing(fp), 2))).toEqual([
    undefined,
    undefined,
    'inc_c',
    'inc_d',
  ]);
});

it('forgets everything under another epoch, and remembers nothing with capacity 0', () => {
  const recent = new RecentAlerts(10, 60_000);
  expect(recent.epoch).toBeNull();
  recent.adopt('epoch-1');
  recent.remember(firing('a'), 'inc_a', 0, 'epoch-1');
  recent.adopt('epoch-1');
  expect(recent.duplicateOf(firing('a'), 1)).toBe('inc_a');
  recent.adopt('epoch-2');
  expect(recent.epoch).toBe('epoch-2');
  expect(recent.duplicateOf(firing('a'), 1)).toBeUndefined();

  const off = new RecentAlerts(0, 60_000);
  off.adopt('epoch-1');
  off.remember(firing('a'), 'inc_a', 0, 'epoch-1');
  expect(off.duplicateOf(firing('a'), 1)).toBeUndefined();
});

it('after forget(), drops what requests that started before it try to remember', () => {
  const recent = new RecentAlerts(10, 60_000);
  recent.adopt('epoch-1');
  recent.remember(firing('a'), 'inc_a', 0, 'epoch-1');
  recent.forget();
  expect(recent.duplicateOf(firing('a'), 1)).toBeUndefined();
  // A request that adopted epoch-1 before the connection dropped finishes now.
  recent.remember(firing('b'), 'inc_b', 1, 'epoch-1');
  expect(recent.duplicateOf(firing('b'), 2)).toBeUndefined();
  // The next request reads the epoch again and starts afresh.
  expect(recent.epoch).toBeNull();
  recent.adopt('epoch-1');
  recent.remember(firing('b'), 'inc_b', 3, 'epoch-1');
  expect(recent.duplicateOf(firing('b'), 4)).toBe('inc_b');
});
