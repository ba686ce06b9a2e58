import { HermesError } from '../../errors.js';
import type { WorkloadKind } from '../../remote/kubernetes.js';

/** Where one alert's fix would act: the first target whose matchers all match its labels. */
export interface Placement {
  target: string;
  /** The target's kind: which driver acts on it. */
  kind: string;
  /** The machine: the ssh host, the Docker endpoint's target name, the Kubernetes namespace, or `localhost`. */
  host: string;
  /** The alert's instance label (host:port), kept to recognise the host as the model may name it. */
  instance: string;
  /** The unit, container, service or Kubernetes workload acted on; null when the alert names none. */
  resource: string | null;
  /** Kubernetes only: what `resource` names (a pod stands for the workload that owns it). */
  workloadKind?: WorkloadKind;
  /** Docker only, once the executor has asked the engine: the container's full id (`resource` is its name). */
  containerId?: string;
  /** Where the place is (topology): `unknown` when neither the target nor the alert says. */
  region: string;
  zone: string;
}

/** What a driver adds to the common fields when it places an alert on its target. */
export type PlacedOn = Pick<Placement, 'host' | 'resource' | 'workloadKind'>;

declare const scoped: unique symbol;

/**
 * A place an incident's own alerts name. Only scope.ts makes one (nothing can write the brand; its one
 * cast is there), and every driver call takes one: a driver cannot be handed a place the incident does
 * not name.
 */
export type ScopedPlacement = Readonly<Placement> & { readonly [scoped]: true };

export type PlacementResult = { ok: true; placement: Placement } | { ok: false; reason: string };

export class TargetsError extends HermesError {}
