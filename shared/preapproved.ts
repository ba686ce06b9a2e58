import { z } from 'zod';

/** How many human-approved fixes, all verified fixed, make Hermes propose a preapproval (`learning:`). */
export const DEFAULT_PROPOSE_AFTER_APPROVALS = 5;

/**
 * One fix a human wrote into policy.yaml as needing no level-2 approval: exactly this tool, for this
 * alert, on this resource. Only humans write it: Hermes proposes, never applies.
 */
export const preapprovedEntrySchema = z.strictObject({
  alertname: z.string().min(1).max(200),
  tool: z.string().regex(/^[a-z][a-z0-9_]{0,99}$/, 'a tool name from tools:'),
  resource: z.string().min(1).max(200),
  reason: z.string().max(1_000).optional(),
});
export type PreapprovedEntry = z.infer<typeof preapprovedEntrySchema>;

export interface FixPair {
  alertname: string;
  tool: string;
  resource: string;
}

/** The entry preapproving exactly this (alertname, tool, resource), if any. */
export function preapprovalFor(entries: readonly PreapprovedEntry[], pair: FixPair): PreapprovedEntry | null {
  return (
    entries.find(
      (entry) =>
        entry.alertname === pair.alertname && entry.tool === pair.tool && entry.resource === pair.resource,
    ) ?? null
  );
}

/** How decisions name a preapproval: "preapproved in policy.yaml (ServiceDown, restart_service, api-gateway)". */
export function preapprovedText(pair: FixPair): string {
  return `preapproved in policy.yaml (${pair.alertname}, ${pair.tool}, ${pair.resource})`;
}
