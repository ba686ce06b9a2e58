import { randomBytes } from 'node:crypto';

const processTag = randomBytes(4).toString('hex');
let counter = 0;

/**
 * Time-sortable, URL- and Redis-key-safe ids: `<prefix>_<ms base36><process tag><counter>`.
 * Unique across processes (random tag) and within one (counter), without a crypto call per id:
 * ingest mints one per alert on its hot path.
 */
export function randomId(prefix: string): string {
  counter = (counter + 1) % 1_679_616;
  return `${prefix}_${Date.now().toString(36)}${processTag}${counter.toString(36).padStart(4, '0')}`;
}
