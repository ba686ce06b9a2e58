import { z } from 'zod';
import { levelSchema } from '../../shared/schemas/incident.js';
import {
  type Channel,
  channelSchema,
  type NotificationSeverity,
  notificationEventSchema,
} from '../../shared/schemas/jobs.js';
import { loadYamlConfig, parseYamlConfig } from '../../shared/yaml-config.js';

/**
 * A rule matches when every condition it sets holds; a notification goes to the union of the
 * channels of all matching rules. A routes file (NOTIFIER_ROUTES_FILE) replaces the defaults:
 *
 *   rules:
 *     - { levels: [3], channels: [slack, pagerduty] }
 *     - { events: [approval_requested], channels: [slack] }
 */
export const routeRuleSchema = z
  .object({
    events: z.array(notificationEventSchema).min(1).optional(),
    levels: z.array(levelSchema).min(1).optional(),
    severities: z
      .array(z.enum(['info', 'warning', 'critical']))
      .min(1)
      .optional(),
    storm: z.boolean().optional(),
    channels: z.array(channelSchema).min(1),
  })
  .strict();
export type RouteRule = z.infer<typeof routeRuleSchema>;

export const routesFileSchema = z.object({ rules: z.array(routeRuleSchema) }).strict();

const PAGE = ['incident_opened', 'storm_opened', 'fleet_opened', 'escalated', 'failed'] as const;
/** Acknowledge / resolve follow-ups; the PagerDuty channel sends them only for incidents it paged. */
const PAGERDUTY_FOLLOW_UPS = [
  'diagnosis',
  'action',
  'approval_requested',
  'approval_decided',
  'acknowledged',
  'fixed',
  'resolved',
] as const;

export const DEFAULT_ROUTES: RouteRule[] = [
  // Level 3 and storms: humans are needed now.
  { levels: [3], events: [...PAGE, 'breaker_open'], channels: ['pagerduty', 'slack', 'email'] },
  { storm: true, events: [...PAGE, 'breaker_open'], channels: ['pagerduty', 'slack', 'email'] },
  { levels: [3], channels: ['slack'] },
  { storm: true, channels: ['slack'] },
  // Whatever the level: an escalation or a failure pages, a critical breaker trip pages.
  { events: ['escalated', 'failed'], channels: ['pagerduty', 'slack', 'email'] },
  { events: ['breaker_open'], severities: ['critical'], channels: ['pagerduty'] },
  { events: ['breaker_open'], channels: ['slack', 'email'] },
  { events: [...PAGERDUTY_FOLLOW_UPS], channels: ['pagerduty'] },
  // Humans must answer approvals, and hear who took an incident.
  { events: ['approval_requested', 'approval_decided', 'acknowledged'], channels: ['slack', 'email'] },
  // Level 2: the diagnosis and its outcome. Level 1: what was fixed.
  { levels: [2], events: ['diagnosis', 'verifying', 'fixed', 'resolved'], channels: ['slack'] },
  { levels: [1], events: ['fixed', 'action', 'verifying'], channels: ['slack'] },
  { events: ['message'], channels: ['slack'] },
];

const WHAT = 'routes (NOTIFIER_ROUTES_FILE)';

export function loadRoutes(file: string | undefined): RouteRule[] {
  if (!file) return DEFAULT_ROUTES;
  return loadYamlConfig(file, routesFileSchema, WHAT).rules;
}

/** NOTIFIER_ROUTES_FILE's text; a bad one is refused with the file, line and problem. */
export function parseRoutes(text: string, path: string): RouteRule[] {
  return parseYamlConfig(text, path, routesFileSchema, WHAT).rules;
}

export interface RouteInput {
  event: z.infer<typeof notificationEventSchema>;
  severity: NotificationSeverity;
  /** Unknown when the incident could not be read; rules that need it then do not match. */
  level?: z.infer<typeof levelSchema> | undefined;
  storm: boolean;
}

export function route(rules: RouteRule[], input: RouteInput): Channel[] {
  const channels = new Set<Channel>();
  for (const rule of rules) {
    if (rule.events && !rule.events.includes(input.event)) continue;
    if (rule.severities && !rule.severities.includes(input.severity)) continue;
    if (rule.levels && (input.level === undefined || !rule.levels.includes(input.level))) continue;
    if (rule.storm !== undefined && rule.storm !== input.storm) continue;
    for (const channel of rule.channels) channels.add(channel);
  }
  return [...channels];
}
