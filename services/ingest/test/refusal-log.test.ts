import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { createLogger } from '../../../shared/logger.js';
import { RefusalLog } from '../refusal-log.js';

it('logs one line per reason and address a window, and the next one says how many were left out', () => {
  let text = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      text += chunk;
      done();
    },
  });
  let now = 0;
  const log = new RefusalLog(createLogger('ingest', 'info', sink), 60_000, () => now);
  const details = { status: 401, method: 'GET', path: '/api/incidents' };
  for (let i = 0; i < 1_000; i++) log.refused('wrong token', '192.0.2.1', details);
  log.refused('wrong token', '192.0.2.2', details);
  log.refused('missing token', '192.0.2.1', details);
  now = 60_000;
  log.refused('wrong token', '192.0.2.1', details);
  const lines = text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(lines.map(({ reason, address, suppressed }) => ({ reason, address, suppressed }))).toEqual([
    { reason: 'wrong token', address: '192.0.2.1', suppressed: 0 },
    { reason: 'wrong token', address: '192.0.2.2', suppressed: 0 },
    { reason: 'missing token', address: '192.0.2.1', suppressed: 0 },
    { reason: 'wrong token', address: '192.0.2.1', suppressed: 999 },
  ]);
  expect(lines[0]).toMatchObject({ msg: 'request refused', status: 401, path: '/api/incidents' });
});
