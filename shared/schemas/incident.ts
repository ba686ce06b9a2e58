import { z } from 'zod';
import { fleetSummarySchema } from '../fleet.js';

export const levelSchema = z.union([z.literal(1), z.literal(2), z.literal(3)]);
export type Level = z.infer<typeof levelSchema>;

export const incidentStatusSchema = z.enum([
  'open',
  'diagnosing',
  /** A fix ran; triage re-checks the incident's alerts until they clear or the window ends. */
  'verifying',
  'awaiting_approval',
  'resolved',
  'escalated',
  'failed',
]);
export type IncidentStatus = z.infer<typeof incidentStatusSchema>;
/** Statuses after which a new alert with the same correlation key opens a new incident. */
export const CLOSED_STATUSES: readonly IncidentStatus[] = ['resolved', 'failed'];

/** While an incident is `verifying`: which fix is checked, since when, until when, how often. */
export const verificationStateSchema = z.object({
  actionIds: z.array(z.string()).min(1),
  since: z.iso.datetime(),
  until: z.iso.datetime(),
  everySeconds: z.number().positive(),
});
export type VerificationState = z.infer<typeof verificationStateSchema>;

export const severitySchema = z.string();
export const SEVERITY_RANK: Record<string, number> = { critical: 0, error: 1, warning: 1, info: 2 };

export const timelineTypeSchema = z.enum([
  'alert',
  'status',
  'tool_call',
  'action',
  'approval',
  'notification',
  'summary',
  'error',
]);

export const timelineEntrySchema = z
  .object({
    at: z.string(),
    type: timelineTypeSchema,
    by: z.string().optional(),
    tool: z.string().optional(),
    message: z.string().optional(),
  })
  .catchall(z.unknown());
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;
export type NewTimelineEntry = Omit<TimelineEntry, 'at'> & { at?: string };

export const actionDecisionSchema = z.enum([
  'executed',
  'blocked',
  'pending_approval',
  'denied',
  'failed',
  'dry_run',
  'unknown_outcome',
  /** Its approval was cancelled before anyone answered it (see approvalStatusSchema). */
  'cancelled',
  /** Beyond a change budget: waits for a slot, then runs by itself (see services/executor/budgets.ts). */
  'held',
]);
export type ActionDecisionKind = z.infer<typeof actionDecisionSchema>;

/** At most this many of the target's last ERROR lines are kept, each at most this long. */
export const STATE_BEFORE_LINES = 5;
export const STATE_BEFORE_LINE_CHARS = 300;

/**
 * The target's state read right before a restart (a restart resets what proves the cause: the
 * restart count, the last exit): null where the target does not report it.
 */
export const stateBeforeSchema = z.object({
  at: z.string(),
  /** The target's own word: running, restarting, exited, failed, CrashLoopBackOff… */
  status: z.string().max(100).nullable(),
  restartCount: z.number().int().min(0).nullable(),
  exitCode: z.number().int().nullable(),
  oomKilled: z.boolean().nullable(),
  /** The last ERROR lines, oldest first. */
  errorLines: z.array(z.string().max(STATE_BEFORE_LINE_CHARS)).max(STATE_BEFORE_LINES),
  /** Why the state could not be read (the restart ran anyway). */
  unreadable: z.string().max(500).optional(),
});
export type StateBefore = z.infer<typeof stateBeforeSchema>;

/** executor → requester: an action job's return value, and what the incident records of it. */
export const actionOutcomeSchema = z.object({
  actionId: z.string(),
  decision: actionDecisionSchema,
  reason: z.string().optional(),
  /** The executor's words for what it ran, would run, or asks to run: "restart api on web-01 via ssh". */
  operation: z.string().optional(),
  result: z.unknown().optional(),
  approvalId: z.string().optional(),
  /** The target's state right before a restart ran (restart count, last exit, ERROR lines). */
  before: stateBeforeSchema.optional(),
  durationMs: z.number(),
});
export type ActionOutcome = z.infer<typeof actionOutcomeSchema>;

/** An action on the incident: its outcome, under the action's id, with what was asked and when. */
export const actionRecordSchema = actionOutcomeSchema
  .omit({ actionId: true })
  .partial({ durationMs: true })
  .extend({
    id: z.string(),
    tool: z.string(),
    args: z.record(z.string(), z.unknown()),
    requestedBy: z.string(),
    at: z.string(),
  });
export type ActionRecord = z.infer<typeof actionRecordSchema>;

export const incidentSchema = z.object({
  id: z.string(),
  level: levelSchema,
  status: incidentStatusSchema,
  alertname: z.string(),
  severity: z.string(),
  instance: z.string(),
  service: z.string(),
  correlationKey: z.string(),
  storm: z.boolean(),
  priority: z.number(),
  fingerprints: z.array(z.string()),
  alertCount: z.number(),
  firingCount: z.number(),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  generatorURL: z.string(),
  summary: z.string().optional(),
  /** The human who took ownership (acknowledged, or approved the agent's question), and when. */
  acknowledgedBy: z.string().optional(),
  acknowledgedAt: z.string().optional(),
  /** Present only while the status is `verifying`. */
  verification: verificationStateSchema.optional(),
  /** On a fleet incident (shared/fleet.ts): the alert, resource, regions, places and member incidents. */
  fleet: fleetSummarySchema.optional(),
  /** On a per-target incident that is part of a fleet incident: the fleet incident's id. */
  fleetIncident: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  timeline: z.array(timelineEntrySchema),
  actions: z.array(actionRecordSchema),
});
export type Incident = z.infer<typeof incidentSchema>;
export type IncidentSummary = Omit<Incident, 'timeline' | 'actions' | 'fingerprints'>;
