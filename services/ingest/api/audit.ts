import type { Hono } from 'hono';
import { z } from 'zod';
import { auditPositions } from '../../../shared/audit-chain.js';
import type { AuthEnv } from '../auth.js';
import { validated } from '../validate.js';
import type { Api } from './context.js';

const verifyQuerySchema = z
  .object({
    /** The caller's retention (its AUDIT_MAX_ENTRIES); default ingest's own. */
    maxEntries: z.coerce.number().int().min(1).optional(),
    seq: z.coerce.number().int().min(1).optional(),
    hash: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'hash is 64 hex digits')
      .optional(),
  })
  .refine((q) => (q.seq === undefined) === (q.hash === undefined), 'give seq and hash together');

const positionsQuerySchema = z.object({
  after: z
    .string()
    .regex(/^\d+-\d+$/, 'after is the next of a previous page')
    .optional(),
});

/** /api/audit: checking the executor's audit chain. */
export function auditRoutes(app: Hono<AuthEnv>, api: Api): void {
  // ?seq=&hash= : a chain position seen outside Redis (the executor's log), to catch truncation;
  // ?maxEntries= : the retention the caller holds a trimmed chain to (default ingest's own).
  app.get('/audit/verify', api.viewer, validated('query', verifyQuerySchema, 'invalid query'), async (c) => {
    const { seq, hash, maxEntries } = c.req.valid('query');
    return c.json(
      await api.status.verifyAudit({
        maxEntries,
        witness: seq !== undefined && hash ? { seq, hash } : undefined,
      }),
    );
  });
  // Each kept entry's number and hash, oldest first, a page at a time: for a verifier to compare
  // with its witnesses (hermes audit verify --witness).
  app.get(
    '/audit/positions',
    api.viewer,
    validated('query', positionsQuerySchema, 'invalid query'),
    async (c) => c.json(await auditPositions(api.deps.redis, api.deps.keys, c.req.valid('query').after)),
  );
}
