import { SAFE_NAME_PATTERN } from '../../names.js';
import { type AlertValues, render } from './template.js';

/** What a host target acts on: its `resource` template, else the alert's `service`, else its `job`. */
export function serviceOf(config: { resource?: string | undefined }, alert: AlertValues): string | null {
  return safeName(
    config.resource ? render(config.resource, alert) : alert.label('service') || alert.label('job') || null,
  );
}

/** A unit or container name as a helper or engine accepts it, else a one-line reason. */
export function safeName(resource: string | null): string | null {
  if (resource !== null && !SAFE_NAME_PATTERN.test(resource))
    throw new Error(`${JSON.stringify(resource)} is not a valid unit or container name`);
  return resource;
}
