import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parsePolicy } from '../../services/executor/policy.js';
import { preapprovalDiff } from '../../shared/policy-proposals.js';

const dir = mkdtempSync(join(tmpdir(), 'hermes-proposal-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shipped = readFileSync('config/policy.yaml', 'utf8');
const without = shipped.replace(/^preapproved: \[\]\n/m, '');
// A resource name is data: quotes, a comment sign and a newline stay inside its YAML string.
const entry = {
  alertname: 'ServiceDown',
  tool: 'restart_service',
  resource: 'api "gw" #x\ny: 1',
  reason: 'r',
};

it.each([
  ['the shipped empty list', shipped],
  ['no preapproved: block', without],
  ['no block and no newline at the end', without.trimEnd()],
  [
    'a block with an entry, items at column 0',
    `${without}preapproved:\n- { alertname: A, tool: restart_service, resource: b }\n\n# next\n`,
  ],
  [
    'a block whose last line has no newline',
    `${without}preapproved:\n    - { alertname: A, tool: restart_service, resource: b }`,
  ],
])(
  '%s: the diff, applied with patch, adds exactly the entry and the policy still validates',
  (_name, text) => {
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, text);
    const diff = preapprovalDiff(text, file, entry, '# proposed by Hermes: test');
    expect(diff).not.toBeNull();
    writeFileSync(join(dir, 'p.diff'), diff ?? '');
    execFileSync('patch', ['--silent', file, join(dir, 'p.diff')]);
    const before = parsePolicy(text).preapproved;
    expect(parsePolicy(readFileSync(file, 'utf8'), file).preapproved).toEqual([...before, entry]);
  },
);

it('gives no diff for a flow-style list with entries (no safe place to insert)', () => {
  const text = `${without}preapproved: [{ alertname: A, tool: restart_service, resource: b }]\n`;
  expect(preapprovalDiff(text, 'p.yaml', entry, '# c')).toBeNull();
});
