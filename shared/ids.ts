import { randomBytes } from 'node:crypto';

/** Time-sortable, URL- and Redis-key-safe ids: `<prefix>_<ms base36><random hex>`. */
export function randomId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
}
