import { appendFile } from 'node:fs/promises';
import type { Logger } from '../../shared/logger.js';

/** An entry's place in the chain, and what it records. */
export interface WitnessedEntry {
  seq: number;
  hash: string;
  event: string;
}

/**
 * Carries every audit entry's number and hash out of Redis as it is appended: a log line
 * (`audit entry witnessed`, with `auditSeq` and `auditHash`) and, with AUDIT_WITNESS_FILE, a JSON
 * line appended to that file. `hermes audit verify --witness` compares the chain with either.
 */
export class AuditWitnessLog {
  private constructor(
    private readonly logger: Logger,
    private readonly file: string | undefined,
  ) {}

  /** Fails (the executor does not start) when the witness file cannot be appended to. */
  static async open(logger: Logger, file: string | undefined): Promise<AuditWitnessLog> {
    if (file) await appendFile(file, '');
    return new AuditWitnessLog(logger, file);
  }

  /**
   * Never throws: the entry is in the chain already, and an append retried would add it twice. A
   * witness the file missed is still in the log, and verify counts entries nothing witnessed.
   */
  async witness(entry: WitnessedEntry): Promise<void> {
    this.logger.info(
      { auditSeq: entry.seq, auditHash: entry.hash, auditEvent: entry.event },
      'audit entry witnessed',
    );
    if (!this.file) return;
    const line = `${JSON.stringify({ seq: entry.seq, hash: entry.hash, event: entry.event, at: new Date().toISOString() })}\n`;
    try {
      await appendFile(this.file, line);
    } catch (error) {
      this.logger.error(
        { err: (error as Error).message, auditSeq: entry.seq },
        'audit witness file not written',
      );
    }
  }
}
