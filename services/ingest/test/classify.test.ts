import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createClassifier } from '../classify.js';

const file = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), 'hermes-class-')), 'classification.yaml');
  writeFileSync(path, text);
  return path;
};

it('reads CLASSIFICATION_FILE: per-alertname levels over the defaults, and a default level', () => {
  const classifier = createClassifier(file('default_level: 3\nlevels:\n  HighLatency: 1\n'));
  expect(classifier.level({ alertname: 'HighLatency' })).toBe(1);
  expect(classifier.level({ alertname: 'DiskSpaceLow' })).toBe(1);
  expect(classifier.level({ alertname: 'Unheard' })).toBe(3);
});

it('stops on a bad CLASSIFICATION_FILE with the file, line and the values allowed', () => {
  const levels = file('levels:\n  DiskSpaceLow: 1\n  HighLatency: 4\n');
  expect(() => createClassifier(levels)).toThrow(
    `invalid classification (CLASSIFICATION_FILE): ${levels}:3:16: levels.HighLatency: Invalid option: expected one of 1|2|3`,
  );
  const key = file('default_level: 2\nlevel:\n  X: 1\n');
  expect(() => createClassifier(key)).toThrow(`${key}:1:1: (root): Unrecognized key: "level"`);
  const syntax = file('levels: [\n');
  expect(() => createClassifier(syntax)).toThrow(new RegExp(`^${syntax}:2:1: `));
});
