import { expect, it } from 'vitest';
import { rfc3339Ms } from '../rfc3339.js';

it('reads RFC 3339 times as Date does, offsets and fractions included', () => {
  for (const text of [
    '2026-01-01T00:00:00Z',
    '2026-03-07T12:34:56.789Z',
    '2026-03-07T12:34:56.5+02:00',
    '2026-03-07T12:34:56-05:30',
    '1970-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
  ])
    expect(rfc3339Ms(text), text).toBe(Date.parse(text));
});

it('keeps milliseconds of finer fractions, lower-case separators and years before 100', () => {
  expect(rfc3339Ms('2026-03-07T12:34:56.123456789Z')).toBe(Date.parse('2026-03-07T12:34:56.123Z'));
  expect(rfc3339Ms('2026-03-07t12:34:56z')).toBe(Date.parse('2026-03-07T12:34:56Z'));
  expect(rfc3339Ms('0001-01-01T00:00:00Z')).toBe(Date.parse('0001-01-01T00:00:00Z'));
});

it('answers undefined for what is no RFC 3339 time', () => {
  for (const text of ['not a time', '2026-01-01', '2026-01-01T00:00:00', '2026-01-01T00:00:00+0', ''])
    expect(rfc3339Ms(text), text).toBeUndefined();
});
