import { z } from 'zod';

/**
 * Fleet incidents: one cause behind many alerts (DESIGN.md, "Judgement across incidents").
 *
 * Ingest detects one atomically with intake and owns its records (keys.fleet*, written only by
 * ingest): when one alertname for one resource fires in at least `minRegions` regions, on at least
 * `minTargets` targets, or on at least `minFraction` of the resource's known targets (and 2), within
 * `windowSeconds`, it opens one level-3 incident whose id is the fleet's id, links every per-target
 * incident (`fleetIncident` on each, `members` on the fleet) and pages once.
 *
 * The executor reads `keys.fleetOpen(resource)` in its decision: while a fleet incident is open on a
 * resource, every automated change to that resource is held, until a human releases a region,
 * cancels the held changes, or the fleet incident closes (then they are dropped, never run).
 */

/** `widespread:` in the policy: when many alerts are one cause. */
export const widespreadSchema = z
  .strictObject({
    minRegions: z.number().int().min(2).default(2),
    minTargets: z.number().int().min(2).default(5),
    /** Of the resource's known targets (Prometheus `up` for its job, where PROMETHEUS_URL is set). */
    minFraction: z.number().gt(0).max(1).default(0.5),
    windowSeconds: z.number().int().min(1).default(300),
  })
  .default({ minRegions: 2, minTargets: 5, minFraction: 0.5, windowSeconds: 300 });
export type Widespread = z.infer<typeof widespreadSchema>;

export const fleetStatusSchema = z.enum(['open', 'closed']);
export type FleetStatus = z.infer<typeof fleetStatusSchema>;

/** One place a fleet incident's alert fires. */
export const fleetPlaceSchema = z.object({ target: z.string(), host: z.string(), region: z.string() });
export type FleetPlace = z.infer<typeof fleetPlaceSchema>;

/** On a fleet incident's JSON (`fleet`): what fires where, and whether it still holds changes. */
export const fleetSummarySchema = z.object({
  alertname: z.string(),
  resource: z.string(),
  status: fleetStatusSchema,
  regions: z.array(z.string()),
  places: z.array(fleetPlaceSchema),
  members: z.array(z.string()),
  openedAt: z.string(),
  closedAt: z.string().optional(),
  closedBy: z.string().optional(),
});
export type FleetSummary = z.infer<typeof fleetSummarySchema>;
