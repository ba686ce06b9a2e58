import type { Logger } from '../../shared/logger.js';

/** Why a request was refused (401, 403, 421, 429): what the log line says, never the token. */
export type RefusalReason =
  | 'missing token'
  | 'malformed Authorization header'
  | 'wrong token'
  | 'invalid session'
  | 'missing CSRF token'
  | 'missing role'
  | 'cross-site'
  | 'bad Host'
  | 'not this machine';

export interface RefusalDetails {
  status: number;
  method: string;
  path: string;
  /** The credential's name, when it was a right one without the role. */
  name?: string;
}

const EVERY_MS = 60_000;
const MAX_TRACKED = 10_000;

/**
 * Logs refused requests with their reason and peer address, at most one line per reason and address
 * a minute: the next line for the same pair says how many were left out (`suppressed`), so a flood
 * of wrong tokens cannot fill the disk.
 */
export class RefusalLog {
  private readonly last = new Map<string, { until: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly everyMs = EVERY_MS,
    private readonly now: () => number = Date.now,
  ) {}

  refused(reason: RefusalReason, address: string | undefined, details: RefusalDetails): void {
    const at = this.now();
    const key = `${reason}\n${address}`;
    const previous = this.last.get(key);
    if (previous && previous.until > at) {
      previous.suppressed++;
      return;
    }
    if (!previous && this.last.size >= MAX_TRACKED) this.forgetExpired(at);
    if (!previous && this.last.size >= MAX_TRACKED) return;
    this.logger.warn(
      {
        reason,
        address: address ?? 'unknown',
        ...details,
        path: details.path.slice(0, 200),
        suppressed: previous?.suppressed ?? 0,
      },
      'request refused',
    );
    this.last.set(key, { until: at + this.everyMs, suppressed: 0 });
  }

  private forgetExpired(at: number): void {
    for (const [key, entry] of this.last) if (entry.until <= at) this.last.delete(key);
  }
}
