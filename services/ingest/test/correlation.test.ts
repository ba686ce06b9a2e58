import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCorrelator } from '../correlation.js';

describe('correlation keys', () => {
  const correlate = createCorrelator('alertname,service|job,instance');

  it('keeps label values that hold separators apart', () => {
    const a = correlate({ alertname: 'X', service: 'payments,instance=db-1', instance: '' });
    const b = correlate({ alertname: 'X', service: 'payments', instance: 'db-1,instance=' });
    expect(a.hash).not.toBe(b.hash);
  });

  it('groups alerts that agree on every term, and only those', () => {
    const label = fc.string({ maxLength: 12 });
    fc.assert(
      fc.property(
        fc.tuple(label, label, label),
        fc.tuple(label, label, label),
        ([a1, s1, i1], [a2, s2, i2]) => {
          const same = a1 === a2 && s1 === s2 && i1 === i2;
          const one = correlate({ alertname: a1, service: s1, instance: i1 });
          const two = correlate({ alertname: a2, service: s2, instance: i2 });
          expect(one.hash === two.hash).toBe(same);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('reads only labels the alert has, whatever they are called', () => {
    const byConstructor = createCorrelator('constructor,toString');
    expect(byConstructor({}).hash).toBe(byConstructor({}).hash);
    expect(byConstructor({}).readable).toBe('constructor=,toString=');
  });
});
