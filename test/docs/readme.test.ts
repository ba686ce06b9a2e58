import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { executorEnvSchema } from '../../services/executor/env.js';
import { ingestEnvSchema } from '../../services/ingest/env.js';
import { notifierEnvSchema } from '../../services/notifier/env.js';
import { triageEnvSchema } from '../../services/triage/env.js';

const readme = readFileSync('README.md', 'utf8');
const configuration = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Security model'));
const schemas = { ingestEnvSchema, triageEnvSchema, executorEnvSchema, notifierEnvSchema };
const variables = new Set(Object.values(schemas).flatMap((schema) => Object.keys(schema.shape)));

describe('README configuration reference', () => {
  it('documents every variable the services read', () => {
    const missing = [...variables].filter((name) => !configuration.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('documents no variable that no service reads', () => {
    const documented = [...configuration.matchAll(/`([A-Z][A-Z0-9_]{3,})`/g)].map((m) => m[1] as string);
    expect(documented.filter((name) => !variables.has(name))).toEqual([]);
  });
});
