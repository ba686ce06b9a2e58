import { z } from 'zod';
import { learnedRuleIdSchema } from '../learned-rules.js';
import type { NoticeSource } from '../queues.js';

export { type ActionOutcome, actionOutcomeSchema } from './incident.js';

export const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,100}$/, 'ids are 1-100 characters of [A-Za-z0-9_-]');

/** A fix being verified: what to re-check and until when (carried from one re-check job to the next). */
export const verificationSchema = z.object({
  actionIds: z.array(idSchema).min(1).max(50),
  summary: z.string().max(4_000),
  /** Which transition notices this round belongs to (`alert`, or the approved action's id). */
  round: z.string().max(200),
  deadline: z.iso.datetime(),
  attempt: z.number().int().min(1),
  /** Labels of the alerts that were firing when the fix ran: the ones it has to clear. */
  alerts: z.array(z.record(z.string(), z.string())).max(200),
});
export type Verification = z.infer<typeof verificationSchema>;

/**
 * → triage. `alert` (from ingest, jobId `triage-<incidentId>`): investigate a new incident.
 * `approval_executed` (from the executor, jobId `triage-<incidentId>-<actionId>`): a human-approved
 * action ran; verify it and close the incident. `verify` (from triage itself, delayed): re-check a
 * fix once; verification never holds a worker while it waits. `held_settled` (from the executor,
 * jobId `triage-<incidentId>-<actionId>-held`): a change held by a budget ran, or never will; verify
 * it, or escalate saying why.
 */
export const triageJobSchema = z.object({
  incidentId: idSchema,
  trigger: z.enum(['alert', 'approval_executed', 'verify', 'held_settled']).default('alert'),
  /** Names the round of an `alert` investigation a human asked for again (its notices are new). */
  round: idSchema.optional(),
  actionId: idSchema.optional(),
  verification: verificationSchema.optional(),
});
export type TriageJob = z.input<typeof triageJobSchema>;

export const requesterSchema = z.union([
  z.literal('agent'),
  z.string().regex(/^human:[A-Za-z0-9_.@+-]{1,100}$/, 'requestedBy is "agent" or "human:<name>"'),
]);
export type Requester = z.infer<typeof requesterSchema>;

export const riskSchema = z.enum(['low', 'medium', 'high']);
export type Risk = z.infer<typeof riskSchema>;

/** Whether the executor acts (`live`) or only records what it would do (`dry-run`). */
export const executionModeSchema = z.enum(['live', 'dry-run']);
export type ExecutionMode = z.infer<typeof executionModeSchema>;

/** What a human is asked to approve, attached by triage when it proposes an action. */
export const approvalRequestSchema = z.object({
  description: z.string().max(2_000).optional(),
  reason: z.string().max(2_000),
  risk: riskSchema,
  rollbackPlan: z.string().max(2_000).optional(),
});
export type ApprovalRequest = z.infer<typeof approvalRequestSchema>;

/**
 * triage or ingest → executor: please run this tool. jobId = actionId.
 * Any claim about safety (level, tier) in here is ignored: the executor derives it itself.
 */
export const actionJobSchema = z.object({
  actionId: idSchema,
  incidentId: idSchema,
  tool: z.string().min(1).max(100),
  args: z.record(z.string(), z.unknown()),
  requestedBy: requesterSchema,
  approvalId: idSchema.optional(),
  approvalRequest: approvalRequestSchema.optional(),
  /** The requester asked a human first (request_human_confirmation): never run without an approval. */
  askHuman: z.boolean().optional(),
  /**
   * When the requester stops waiting for the decision: after it the executor refuses to run the
   * action, and an action that was already running when it passed is reported to humans.
   */
  deadline: z.iso.datetime().optional(),
});
export type ActionJob = z.infer<typeof actionJobSchema>;

/**
 * triage → executor, job name `feedback` on the actions queue: after verification, whether an
 * executed action fixed the problem. Ineffective fixes count towards the circuit breaker.
 */
export const actionFeedbackJobSchema = z.object({
  incidentId: idSchema,
  actionId: idSchema,
  effective: z.boolean(),
  detail: z.string().max(2_000).optional(),
});
export type ActionFeedbackJob = z.infer<typeof actionFeedbackJobSchema>;

/**
 * ingest → executor, job name `breaker_reset` on the actions queue: a human closes the circuit
 * breaker. Only the executor writes its state and the audit chain, so ingest asks it to.
 */
const humanNameSchema = z.string().regex(/^[A-Za-z0-9_.@+-]{1,100}$/, 'by is a name of [A-Za-z0-9_.@+-]');

export const breakerResetJobSchema = z.object({
  by: humanNameSchema,
  reason: z
    .string()
    .max(2_000)
    .refine((reason) => /[^\s\p{Cc}\p{Cf}]/u.test(reason), 'reason must contain a visible character'),
});
export type BreakerResetJob = z.infer<typeof breakerResetJobSchema>;

/** ingest → executor, job name `learned_clear` on the actions queue: a human clears a learned rule. */
export const learnedClearJobSchema = breakerResetJobSchema.extend({ ruleId: learnedRuleIdSchema });
export type LearnedClearJob = z.infer<typeof learnedClearJobSchema>;

/**
 * ingest → executor, job names `fleet_release`, `fleet_cancel` and `fleet_closed` on the actions
 * queue: what humans (or the fleet incident closing) decide about the changes a fleet incident holds
 * (shared/fleet.ts). The executor records, audits and carries them out.
 */
const fleetIdSchema = idSchema;
export const fleetReleaseJobSchema = z.object({
  fleetId: fleetIdSchema,
  region: z.string().min(1).max(200),
  by: humanNameSchema,
});
export type FleetReleaseJob = z.infer<typeof fleetReleaseJobSchema>;

export const fleetCancelJobSchema = z.object({
  fleetId: fleetIdSchema,
  by: humanNameSchema,
  reason: z.string().max(2_000).optional(),
});
export type FleetCancelJob = z.infer<typeof fleetCancelJobSchema>;

export const fleetClosedJobSchema = z.object({ fleetId: fleetIdSchema });
export type FleetClosedJob = z.infer<typeof fleetClosedJobSchema>;

/**
 * What a human can do to an incident: take ownership of it (`acknowledge`: it is escalated, in human
 * hands), close it (`resolve`), or have triage investigate it again (`rerun`).
 */
export const incidentCommandSchema = z.enum(['acknowledge', 'resolve', 'rerun']);
export type IncidentCommand = z.infer<typeof incidentCommandSchema>;

/** The API body of POST /api/incidents/:id/<command>. */
export const incidentCommandBodySchema = z.object({
  by: humanNameSchema,
  comment: z.string().max(2_000).optional(),
});

/**
 * ingest → executor, job name `incident_command` on the actions queue: a human's command on an
 * incident. The executor changes the status, announces it and appends it to the audit chain.
 */
export const incidentCommandJobSchema = incidentCommandBodySchema.extend({
  incidentId: idSchema,
  command: incidentCommandSchema,
});
export type IncidentCommandJob = z.infer<typeof incidentCommandJobSchema>;

/** The executor's answer to an incident command (the job's return value). */
export const incidentCommandResultSchema = z.union([
  z.object({ ok: z.literal(true), previous: z.string(), status: z.string() }),
  z.object({ ok: z.literal(false), reason: z.string(), notFound: z.boolean().optional() }),
]);
export type IncidentCommandResult = z.infer<typeof incidentCommandResultSchema>;

export const notificationSeveritySchema = z.enum(['info', 'warning', 'critical']);
export type NotificationSeverity = z.infer<typeof notificationSeveritySchema>;

export const notificationEventSchema = z.enum([
  'incident_opened',
  'storm_opened',
  /** One cause behind many alerts: a fleet incident opened (it pages once for all its members). */
  'fleet_opened',
  'diagnosis',
  'action',
  'verifying',
  'approval_requested',
  'approval_decided',
  'acknowledged',
  'fixed',
  'escalated',
  'resolved',
  'failed',
  'breaker_open',
  'message',
]);
export type NotificationEvent = z.infer<typeof notificationEventSchema>;

/**
 * The events each source may announce. The notifier refuses the rest, so a service that is taken over
 * cannot forge another's notices (an approval request with its buttons, a breaker page).
 */
export const NOTICE_EVENTS: Record<NoticeSource, readonly NotificationEvent[]> = {
  ingest: ['incident_opened', 'storm_opened', 'fleet_opened', 'resolved', 'approval_decided', 'acknowledged'],
  triage: ['diagnosis', 'verifying', 'fixed', 'escalated', 'failed', 'message'],
  // Humans' incident commands (acknowledge, resolve) are carried out, and announced, by the executor.
  executor: ['approval_requested', 'approval_decided', 'acknowledged', 'resolved', 'breaker_open', 'action'],
};
export const channelSchema = z.enum(['slack', 'pagerduty', 'email', 'console']);
export type Channel = z.infer<typeof channelSchema>;

/** any service → notifier. eventId is unique per event: delivery is idempotent per (eventId, channel). */
export const notificationJobSchema = z.object({
  eventId: idSchema,
  incidentId: idSchema,
  event: notificationEventSchema,
  severity: notificationSeveritySchema.default('info'),
  title: z.string().max(500),
  text: z.string().max(10_000),
  approvalId: idSchema.optional(),
  /** Explicit channels (send_notification); otherwise routing rules decide. */
  channels: z.array(channelSchema).optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type NotificationJob = z.input<typeof notificationJobSchema>;
