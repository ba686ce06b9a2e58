import { z } from 'zod';
import type { AuditWitness } from './audit-chain.js';

const seqSchema = z.number().int().min(1);
const hashSchema = z.string().regex(/^[0-9a-f]{64}$/);

/** A line of the executor's witness file (AUDIT_WITNESS_FILE), or of its log (`audit entry witnessed`). */
const witnessLineSchema = z.union([
  z.object({ seq: seqSchema, hash: hashSchema }),
  z
    .object({ auditSeq: seqSchema, auditHash: hashSchema })
    .transform(({ auditSeq, auditHash }) => ({ seq: auditSeq, hash: auditHash })),
]);

/** How many positions one problem lists before saying how many more. */
const LISTED = 5;

/**
 * The witness in one line, read from its first `{` (a log collector's prefix such as
 * `executor-1  | ` is skipped); null for a line that is not one.
 */
export function parseWitnessLine(line: string): AuditWitness | null {
  const start = line.indexOf('{');
  if (start < 0) return null;
  let json: unknown;
  try {
    json = JSON.parse(line.slice(start));
  } catch {
    return null;
  }
  const parsed = witnessLineSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/** Witnessed positions by number; two different hashes for one number are kept as a conflict. */
export class Witnesses {
  readonly bySeq = new Map<number, string>();
  readonly conflicts = new Set<number>();

  add(witness: AuditWitness): void {
    const known = this.bySeq.get(witness.seq);
    if (known !== undefined && known !== witness.hash) this.conflicts.add(witness.seq);
    this.bySeq.set(witness.seq, witness.hash);
  }
}

/** The kept chain as the verifier read it: each entry's number and hash, and where it ends. */
export interface ChainPositions {
  bySeq: Map<number, string>;
  /** Number of the newest entry (0 for an empty chain). */
  lastSeq: number;
}

export interface WitnessReport {
  ok: boolean;
  /** Witnessed entries still kept, and agreeing. */
  agreeing: number;
  /** Witnessed entries older than the kept chain (trimmed: the chain check holds them to AUDIT_MAX_ENTRIES). */
  trimmed: number;
  /** Kept entries no witness given saw (another executor's witness, or an entry the executor died before witnessing, or one written by someone else). */
  unwitnessed: number;
  /** What disagrees, oldest first. */
  problems: string[];
}

/**
 * Compares the kept chain with what was witnessed outside Redis. Detected: a witnessed entry
 * rewritten or replaced (its number holds another hash: an edit, or an entry before it removed and
 * the rest chained again), missing from the kept chain, or beyond its end (removed at the newest
 * end with head and counter rewound); and witnesses that contradict each other.
 */
export function compareWithWitnesses(chain: ChainPositions, witnesses: Witnesses): WitnessReport {
  let firstSeq = chain.lastSeq + 1;
  for (const seq of chain.bySeq.keys()) firstSeq = Math.min(firstSeq, seq);
  const altered: number[] = [];
  const missing: number[] = [];
  const beyond: number[] = [];
  let agreeing = 0;
  let trimmed = 0;
  for (const [seq, hash] of witnesses.bySeq) {
    if (witnesses.conflicts.has(seq)) continue;
    if (seq > chain.lastSeq) beyond.push(seq);
    else if (seq < firstSeq) trimmed++;
    else if (!chain.bySeq.has(seq)) missing.push(seq);
    else if (chain.bySeq.get(seq) !== hash) altered.push(seq);
    else agreeing++;
  }
  let unwitnessed = 0;
  for (const seq of chain.bySeq.keys()) if (!witnesses.bySeq.has(seq)) unwitnessed++;
  const problems = [
    ...listed(
      [...witnesses.conflicts],
      (seqs) => `the witnesses disagree about ${entries(seqs)} (two hashes)`,
    ),
    ...listed(
      altered,
      (seqs) =>
        `${entries(seqs)} ${seqs.length === 1 ? 'differs' : 'differ'} from the witnessed one: rewritten, or an entry before it removed and the rest chained again`,
    ),
    ...listed(
      missing,
      (seqs) => `${entries(seqs)} ${seqs.length === 1 ? 'is' : 'are'} missing from the chain`,
    ),
    ...listed(
      beyond,
      (seqs) =>
        `${entries(seqs)} ${seqs.length === 1 ? 'was' : 'were'} witnessed but the chain ends at ${chain.lastSeq}: removed at the newest end, head and counter rewound`,
    ),
  ];
  return { ok: problems.length === 0, agreeing, trimmed, unwitnessed, problems };
}

function listed(seqs: number[], say: (shown: number[]) => string): string[] {
  if (seqs.length === 0) return [];
  const sorted = seqs.sort((a, b) => a - b);
  const more = sorted.length - LISTED;
  return [`${say(sorted.slice(0, LISTED))}${more > 0 ? ` (and ${more} more)` : ''}`];
}

function entries(seqs: number[]): string {
  return seqs.length === 1 ? `entry ${seqs[0]}` : `entries ${seqs.join(', ')}`;
}
