import { describe, expect, it } from 'vitest';
import { compareWithWitnesses, parseWitnessLine, Witnesses } from '../../shared/audit-witness.js';

const hash = (n: number) => n.toString(16).padStart(64, '0');

function witnessed(...positions: [number, string][]): Witnesses {
  const witnesses = new Witnesses();
  for (const [seq, h] of positions) witnesses.add({ seq, hash: h });
  return witnesses;
}

describe('audit witnesses', () => {
  it("reads the witness file's lines and the executor's log lines, whatever prefixes them", () => {
    expect(parseWitnessLine(JSON.stringify({ seq: 4, hash: hash(4), event: 'action' }))).toEqual({
      seq: 4,
      hash: hash(4),
    });
    const logLine = JSON.stringify({
      level: 30,
      auditSeq: 5,
      auditHash: hash(5),
      msg: 'audit entry witnessed',
    });
    expect(parseWitnessLine(`executor-1  | ${logLine}`)).toEqual({ seq: 5, hash: hash(5) });
    expect(parseWitnessLine('{"level":30,"msg":"executor started"}')).toBeNull();
    expect(parseWitnessLine('{"seq":0,"hash":"nothex"}')).toBeNull();
    expect(parseWitnessLine('not json {')).toBeNull();
  });

  it('agrees with a chain holding what was witnessed; older ones count as trimmed', () => {
    const chain = { bySeq: new Map([3, 4, 5].map((n) => [n, hash(n)])), lastSeq: 5 };
    expect(compareWithWitnesses(chain, witnessed([1, hash(1)], [4, hash(4)], [5, hash(5)]))).toEqual({
      ok: true,
      agreeing: 2,
      trimmed: 1,
      unwitnessed: 1,
      problems: [],
    });
  });

  it('names rewritten, missing and cut-off entries, and witnesses that contradict each other', () => {
    const chain = { bySeq: new Map([1, 2, 4].map((n) => [n, hash(n)])), lastSeq: 4 };
    const witnesses = witnessed(
      [1, hash(1)],
      [1, hash(99)],
      [2, hash(98)],
      [3, hash(3)],
      [5, hash(5)],
      [6, hash(6)],
    );
    expect(compareWithWitnesses(chain, witnesses)).toMatchObject({
      ok: false,
      problems: [
        'the witnesses disagree about entry 1 (two hashes)',
        'entry 2 differs from the witnessed one: rewritten, or an entry before it removed and the rest chained again',
        'entry 3 is missing from the chain',
        'entries 5, 6 were witnessed but the chain ends at 4: removed at the newest end, head and counter rewound',
      ],
    });
  });
});
