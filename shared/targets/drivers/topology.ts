import { z } from 'zod';
import type { Placement } from './placement.js';
import { type AlertValues, render, template } from './template.js';

export const UNKNOWN_TOPOLOGY = 'unknown';

/** A target's `topology:` in TARGETS_FILE: where its places are, as templates over the alert. */
export const topologySchema = z.strictObject({ region: template.optional(), zone: template.optional() });
export type TopologyConfig = z.infer<typeof topologySchema>;

/** The alert labels a place's region and zone come from when its target says nothing (TOPOLOGY_LABELS). */
export interface TopologyLabels {
  region: string;
  zone: string | undefined;
}

export const DEFAULT_TOPOLOGY_LABELS: TopologyLabels = { region: 'region', zone: 'zone' };

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** TOPOLOGY_LABELS: "REGION_LABEL[,ZONE_LABEL]". */
export const topologyLabelsSchema = z
  .string()
  .default('region,zone')
  .transform((value) => value.split(',').map((name) => name.trim()))
  .refine(
    (names) => names.length >= 1 && names.length <= 2 && names.every((name) => LABEL_NAME.test(name)),
    'one or two label names, region first: "region,zone"',
  )
  .transform((names): TopologyLabels => ({ region: names[0] as string, zone: names[1] }));

const MAX_VALUE_LENGTH = 64;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * A place's region and zone: the target's template, else the alert's label, else `unknown`. A
 * template naming a label the alert lacks gives `unknown`, never an error: topology is data.
 */
export function topologyOf(
  config: TopologyConfig | undefined,
  alert: AlertValues,
  labels: TopologyLabels,
): Pick<Placement, 'region' | 'zone'> {
  return {
    region: topologyValue(config?.region, labels.region, alert),
    zone: topologyValue(config?.zone, labels.zone, alert),
  };
}

function topologyValue(source: string | undefined, label: string | undefined, alert: AlertValues): string {
  let value = '';
  if (source !== undefined) {
    try {
      value = render(source, alert);
    } catch {
      value = '';
    }
  } else if (label !== undefined) value = alert.label(label);
  // Data from alerts: no control characters (a newline could forge a line in a log or the CLI).
  const clean = value.replace(CONTROL, '').trim().slice(0, MAX_VALUE_LENGTH);
  return clean || UNKNOWN_TOPOLOGY;
}

/** " (eu-west/a)" after a place's name, or nothing when its topology is unknown. */
export function topologyWords({ region, zone }: Pick<Placement, 'region' | 'zone'>): string {
  if (region === UNKNOWN_TOPOLOGY && zone === UNKNOWN_TOPOLOGY) return '';
  return ` (${region}/${zone})`;
}
