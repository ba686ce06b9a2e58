import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { AuditVerification, AuditWitness } from '../../shared/audit-chain.js';
import {
  type ChainPositions,
  compareWithWitnesses,
  parseWitnessLine,
  Witnesses,
  type WitnessReport,
} from '../../shared/audit-witness.js';
import { type Cli, CliError } from '../cli-context.js';

const AUDIT_USAGE =
  "usage: hermes audit verify [--witness FILE]... [--max-entries N] [--seq N --hash H]  (FILE: the executor's AUDIT_WITNESS_FILE or its log)";

/** `hermes audit verify [--witness FILE]... [--max-entries N] [--seq N --hash H]`: exit 2 when either check fails. */
export async function verifyAudit({ arg, options, call, output }: Cli): Promise<void> {
  if (arg !== 'verify' || Boolean(options.seq) !== Boolean(options.hash)) throw new CliError(AUDIT_USAGE);
  // The retention a trimmed chain is held to is this verifier's (flag, env, else ingest's own).
  const maxEntries = options['max-entries'] ?? process.env.AUDIT_MAX_ENTRIES;
  const query = maxEntries ? `?${new URLSearchParams({ maxEntries: String(retention(maxEntries)) })}` : '';
  const witnesses = await readWitnesses(options.witness ?? []);
  if (options.seq) witnesses.add(witnessFlag(options.seq, options.hash ?? ''));
  const given = witnesses.bySeq.size > 0;
  const chain = (await call('GET', `/api/audit/verify${query}`)) as AuditVerification;
  const witness = given ? compareWithWitnesses(await chainPositions(call), witnesses) : undefined;
  output({ ...chain, ...(witness ? { witness } : {}) }, () => describeAuditCheck(chain, witness));
  if (!chain.ok || (witness && !witness.ok)) process.exitCode = 2;
}

function retention(raw: string): number {
  const parsed = z.coerce.number().int().min(1).safeParse(raw);
  if (!parsed.success)
    throw new CliError(`--max-entries (or AUDIT_MAX_ENTRIES) is a whole number, not ${raw}`);
  return parsed.data;
}

function witnessFlag(seq: string, hash: string): AuditWitness {
  const witness = parseWitnessLine(JSON.stringify({ seq: Number(seq), hash }));
  if (!witness) throw new CliError(`--seq is an entry number and --hash its 64 hex digits\n${AUDIT_USAGE}`);
  return witness;
}

/** Every witness in these files: lines of the executor's witness file or log (other lines are skipped). */
async function readWitnesses(paths: string[]): Promise<Witnesses> {
  const witnesses = new Witnesses();
  for (const path of paths) {
    let found = 0;
    try {
      for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
        const witness = parseWitnessLine(line);
        if (witness) {
          witnesses.add(witness);
          found++;
        }
      }
    } catch (error) {
      throw new CliError(`cannot read witness file ${path}: ${(error as Error).message}`);
    }
    if (found === 0)
      throw new CliError(
        `${path} holds no audit witness (lines with seq and hash, or executor log lines with auditSeq and auditHash)`,
      );
  }
  return witnesses;
}

/** The kept chain's numbers and hashes, page by page. */
async function chainPositions(call: Cli['call']): Promise<ChainPositions> {
  const bySeq = new Map<number, string>();
  let lastSeq = 0;
  let after: string | null = null;
  do {
    const page = (await call(
      'GET',
      `/api/audit/positions${after ? `?${new URLSearchParams({ after })}` : ''}`,
    )) as { positions: [number, string][]; next: string | null };
    for (const [seq, hash] of page.positions) {
      bySeq.set(seq, hash);
      lastSeq = Math.max(lastSeq, seq);
    }
    after = page.next;
  } while (after);
  return { bySeq, lastSeq };
}

function describeAuditCheck(chain: AuditVerification, witness: WitnessReport | undefined): string {
  const kept = `${chain.entries} entries, up to number ${chain.lastSeq ?? chain.entries}`;
  return [
    `chain:   ${
      chain.ok
        ? `intact: ${kept}${chain.trimmed ? ' (older ones trimmed, no fewer kept than AUDIT_MAX_ENTRIES)' : ''}`
        : `BROKEN at ${chain.brokenAt}: ${chain.problem ?? 'it does not verify'}`
    }`,
    '         checks every kept entry against the one before it (edited, inserted, reordered or removed',
    '         entries), head and counter, and that a trimmed chain keeps AUDIT_MAX_ENTRIES (the oldest end)',
    `witness: ${
      witness === undefined
        ? 'none given (--witness FILE): entries removed at the newest end, head and counter rewound, cannot be seen'
        : witness.ok
          ? `agrees: witnessed entries kept unchanged ${witness.agreeing}, trimmed since ${witness.trimmed}; kept entries not in the witnesses given ${witness.unwitnessed}`
          : `BROKEN: ${witness.problems.join('; ')}`
    }`,
    '         checks the chain against the numbers and hashes the executor logged outside Redis (missing,',
    '         rewritten or rewound entries)',
  ].join('\n');
}
