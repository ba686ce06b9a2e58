import { dockerDriver } from './drivers/docker/driver.js';
import type { TargetDriver } from './drivers/driver.js';
import { kubernetesDriver } from './drivers/kubernetes/driver.js';
import { localDriver } from './drivers/local/driver.js';
import type { ScopedPlacement } from './drivers/placement.js';
import { sshDriver } from './drivers/ssh/driver.js';
import type { TargetConfig, TargetKind } from './schema.js';

type Drivers = { [Kind in TargetKind]: TargetDriver<Extract<TargetConfig, { kind: Kind }>> };

/** One driver per target kind: adding a kind adds one line here. */
export const DRIVERS: Drivers = {
  ssh: sshDriver,
  docker: dockerDriver,
  kubernetes: kubernetesDriver,
  local: localDriver,
};

/** The driver of a target, typed for its configuration. */
export function driverOf(config: TargetConfig): TargetDriver<TargetConfig> {
  return DRIVERS[config.kind] as TargetDriver<TargetConfig>;
}

/**
 * The one way to a driver for an incident's place: the configuration of the target it is on, and
 * that target's driver. Only a ScopedPlacement gets here, so no driver acts outside an incident's scope.
 */
export function driverAt(
  targets: { get(name: string): TargetConfig | undefined },
  placement: ScopedPlacement,
): { config: TargetConfig; driver: TargetDriver<TargetConfig> } | string {
  const config = targets.get(placement.target);
  if (!config || config.kind !== placement.kind)
    return `target ${placement.target} is not a ${placement.kind} target`;
  return { config, driver: driverOf(config) };
}
