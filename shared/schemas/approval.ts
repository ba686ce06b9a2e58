import { z } from 'zod';
import { riskSchema } from './jobs.js';

/**
 * `cancelled`: closed unanswered because a human's word or the incident's end made it moot (resolved,
 * acknowledged, re-run, failed); `decidedBy` says who or what, `comment` why.
 */
export const approvalStatusSchema = z.enum(['pending', 'approved', 'denied', 'expired', 'used', 'cancelled']);
export type ApprovalStatus = z.infer<typeof approvalStatusSchema>;

/** A human's yes/no on one exact action (tool + args). Created by the executor, decided via ingest. */
export const approvalSchema = z.object({
  id: z.string(),
  incidentId: z.string(),
  actionId: z.string(),
  tool: z.string(),
  args: z.record(z.string(), z.unknown()),
  argsHash: z.string(),
  description: z.string().optional(),
  reason: z.string(),
  risk: riskSchema,
  rollbackPlan: z.string().optional(),
  status: approvalStatusSchema,
  requestedAt: z.string(),
  expiresAt: z.string(),
  decidedBy: z.string().optional(),
  decidedAt: z.string().optional(),
  comment: z.string().optional(),
});
export type Approval = z.infer<typeof approvalSchema>;

export const approvalDecisionBodySchema = z.object({
  by: z.string().regex(/^[A-Za-z0-9_.@+-]{1,100}$/, 'by is 1-100 characters of [A-Za-z0-9_.@+-]'),
  comment: z.string().max(2_000).optional(),
});
export type ApprovalDecisionBody = z.infer<typeof approvalDecisionBodySchema>;
