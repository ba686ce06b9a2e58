import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../shared/logger.js';

/** A service logger whose lines are kept, so a test can wait on what the service said. */
export function capturingLogger(service: string, level = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger(service, level, sink), lines };
}
