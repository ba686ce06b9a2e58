import type {
  AppsV1Api,
  AutoscalingV2Api,
  ConfigurationOptions,
  CoreV1Api,
  CoreV1Event,
  ObservableMiddleware,
  RequestContext,
  ResponseContext,
  V1DaemonSet,
  V1Deployment,
  V1Pod,
  V1PodTemplateSpec,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { z } from 'zod';
import { HermesError } from '../errors.js';
import { type LogLevel, levelAtLeast } from '../log-levels.js';

type Client = typeof import('@kubernetes/client-node');
type Apis = { apps: AppsV1Api; core: CoreV1Api; autoscaling: AutoscalingV2Api };
let loading: Promise<Client> | undefined;

/** The client is loaded on first use: services with no kubernetes target never pay its start-up time. */
function client(): Promise<Client> {
  loading ??= import('@kubernetes/client-node');
  return loading;
}

/** A workload Hermes acts on; a pod alert is resolved to one of these through its ownerReferences. */
export const WORKLOAD_KINDS = ['deployment', 'statefulset', 'daemonset', 'pod'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** How to reach a cluster: a kubeconfig (and a context) or the pod's service account; checked by the targets schema. */
export interface KubernetesConnection {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  inCluster?: true | undefined;
  requestTimeoutSeconds: number;
}

export interface WorkloadRef {
  namespace: string;
  kind: Exclude<WorkloadKind, 'pod'>;
  name: string;
}
export type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;

type KubernetesFailure = 'forbidden' | 'conflict' | 'not_found' | 'timeout' | 'unreachable' | 'api';

/** One line a human can act on: the verb and resource refused (403), a conflict (409), a timeout. */
export class KubernetesTargetError extends HermesError {
  constructor(
    message: string,
    readonly failure: KubernetesFailure,
  ) {
    super(message, {
      retryable: failure === 'timeout' || failure === 'unreachable' || failure === 'conflict',
    });
  }
}

/** The annotation `kubectl rollout restart` sets on the pod template. */
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const REVISION = 'deployment.kubernetes.io/revision';
/** Lines read from the end of a container's log before the level filter keeps the last ones asked for. */
const LOG_SCAN_LINES = 5_000;
const FIELD_MANAGER = 'hermes';

const statusSchema = z.looseObject({ message: z.string().optional(), reason: z.string().optional() });

interface Call {
  verb: string;
  /** The API resource as RBAC names it: `deployments`, `deployments/scale`, `pods/log`… */
  resource: string;
  namespace: string;
  name?: string;
}

/**
 * One cluster, through the official client with the target's kubeconfig context or in-cluster
 * service account. Every request has a deadline; every failure is a {@link KubernetesTargetError}.
 * Writes take `dryRun`: the API server then runs admission and validation and answers with the
 * object it would store, storing nothing.
 */
export class KubernetesTarget {
  private apis: Apis | undefined;
  private readonly timeoutMs: number;

  constructor(
    readonly name: string,
    private readonly settings: KubernetesConnection,
    options: { maxTimeoutMs?: number } = {},
  ) {
    this.timeoutMs = Math.min(
      settings.requestTimeoutSeconds * 1000,
      options.maxTimeoutMs ?? Number.POSITIVE_INFINITY,
    );
  }

  async workload(ref: WorkloadRef): Promise<Workload> {
    const { apps } = await this.api();
    const request = { name: ref.name, namespace: ref.namespace };
    return this.call<Workload>({ verb: 'get', resource: plural(ref.kind), ...request }, (options) =>
      ref.kind === 'deployment'
        ? apps.readNamespacedDeployment(request, options)
        : ref.kind === 'statefulset'
          ? apps.readNamespacedStatefulSet(request, options)
          : apps.readNamespacedDaemonSet(request, options),
    );
  }

  /** The workload a pod belongs to: its controller, and a ReplicaSet's own controller (a Deployment). */
  async ownerOf(namespace: string, pod: string): Promise<WorkloadRef> {
    const { core, apps } = await this.api();
    const found = await this.call({ verb: 'get', resource: 'pods', namespace, name: pod }, (options) =>
      core.readNamespacedPod({ name: pod, namespace }, options),
    );
    const owner = controllerOf(found.metadata?.ownerReferences);
    if (owner?.kind === 'StatefulSet') return { namespace, kind: 'statefulset', name: owner.name };
    if (owner?.kind === 'DaemonSet') return { namespace, kind: 'daemonset', name: owner.name };
    if (owner?.kind === 'ReplicaSet') {
      const replicaSet = await this.call(
        { verb: 'get', resource: 'replicasets', namespace, name: owner.name },
        (options) => apps.readNamespacedReplicaSet({ name: owner.name, namespace }, options),
      );
      const deployment = controllerOf(replicaSet.metadata?.ownerReferences);
      if (deployment?.kind === 'Deployment') return { namespace, kind: 'deployment', name: deployment.name };
    }
    throw new KubernetesTargetError(
      `pod ${namespace}/${pod} on cluster ${this.name} belongs to no Deployment, StatefulSet or DaemonSet`,
      'not_found',
    );
  }

  /** The scale subresource: the replica count the workload runs with now. */
  async replicas(ref: WorkloadRef): Promise<{ replicas: number; resourceVersion: string }> {
    const { apps } = await this.api();
    const request = { name: ref.name, namespace: ref.namespace };
    const scale = await this.call(
      { verb: 'get', resource: `${plural(ref.kind)}/scale`, ...request },
      (options) =>
        ref.kind === 'deployment'
          ? apps.readNamespacedDeploymentScale(request, options)
          : ref.kind === 'statefulset'
            ? apps.readNamespacedStatefulSetScale(request, options)
            : Promise.reject(
                new KubernetesTargetError(`a DaemonSet runs one pod per node: it has no scale`, 'api'),
              ),
    );
    return { replicas: scale.spec?.replicas ?? 0, resourceVersion: scale.metadata?.resourceVersion ?? '' };
  }

  /** The HorizontalPodAutoscaler whose scaleTargetRef names the workload, if any. */
  async autoscalerOf(ref: WorkloadRef): Promise<string | null> {
    const { autoscaling } = await this.api();
    const list = await this.call(
      { verb: 'list', resource: 'horizontalpodautoscalers', namespace: ref.namespace },
      (options) => autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: ref.namespace }, options),
    );
    const hpa = list.items.find(
      (item) =>
        item.spec?.scaleTargetRef.kind.toLowerCase() === ref.kind &&
        item.spec.scaleTargetRef.name === ref.name,
    );
    return hpa?.metadata?.name ?? null;
  }

  /**
   * Sets the replica count through the scale subresource, only if it is still at `resourceVersion`
   * (what was read): a change in between is a 409 conflict, never a silent overwrite.
   */
  async setReplicas(ref: WorkloadRef, replicas: number, resourceVersion: string, dryRun: boolean) {
    const { apps } = await this.api();
    const request = {
      name: ref.name,
      namespace: ref.namespace,
      body: { metadata: { resourceVersion }, spec: { replicas } },
      fieldManager: FIELD_MANAGER,
      ...(dryRun ? { dryRun: 'All' } : {}),
    };
    const scale = await this.call(
      { verb: 'patch', resource: `${plural(ref.kind)}/scale`, namespace: ref.namespace, name: ref.name },
      (options) =>
        ref.kind === 'deployment'
          ? apps.patchNamespacedDeploymentScale(request, options)
          : apps.patchNamespacedStatefulSetScale(request, options),
      'application/merge-patch+json',
    );
    return {
      replicas: scale.spec?.replicas ?? replicas,
      resourceVersion: scale.metadata?.resourceVersion ?? '',
    };
  }

  /** `kubectl rollout restart`: a strategic-merge patch of the pod template's restartedAt annotation. */
  async restart(ref: WorkloadRef, at: string, dryRun: boolean): Promise<Workload> {
    const { apps } = await this.api();
    const request = {
      name: ref.name,
      namespace: ref.namespace,
      body: { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: at } } } } },
      fieldManager: FIELD_MANAGER,
      ...(dryRun ? { dryRun: 'All' } : {}),
    };
    return this.call<Workload>(
      { verb: 'patch', resource: plural(ref.kind), namespace: ref.namespace, name: ref.name },
      (options) =>
        ref.kind === 'deployment'
          ? apps.patchNamespacedDeployment(request, options)
          : ref.kind === 'statefulset'
            ? apps.patchNamespacedStatefulSet(request, options)
            : apps.patchNamespacedDaemonSet(request, options),
      'application/strategic-merge-patch+json',
    );
  }

  /**
   * The pod template of the deployment's ReplicaSet at `revision` (default: the one before the
   * current), as `kubectl rollout undo` finds it.
   */
  async previousTemplate(
    deployment: V1Deployment,
    revision?: number,
  ): Promise<{ revision: number; replicaSet: string; template: V1PodTemplateSpec }> {
    const { apps } = await this.api();
    const namespace = deployment.metadata?.namespace ?? '';
    const name = deployment.metadata?.name ?? '';
    const current = Number(deployment.metadata?.annotations?.[REVISION] ?? 0);
    const list = await this.call({ verb: 'list', resource: 'replicasets', namespace }, (options) =>
      apps.listNamespacedReplicaSet(
        { namespace, labelSelector: labelSelector(deployment.spec?.selector?.matchLabels) },
        options,
      ),
    );
    const owned = list.items
      .filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.uid === deployment.metadata?.uid))
      .map((rs) => ({ rs, revision: Number(rs.metadata?.annotations?.[REVISION] ?? 0) }));
    const chosen =
      revision === undefined
        ? owned.filter((o) => o.revision < current).sort((a, b) => b.revision - a.revision)[0]
        : owned.find((o) => o.revision === revision && o.revision !== current);
    if (!chosen?.rs.spec?.template)
      throw new KubernetesTargetError(
        revision === undefined
          ? `deployment ${namespace}/${name} on cluster ${this.name} has no revision before ${current} to roll back to`
          : `deployment ${namespace}/${name} on cluster ${this.name} has no other revision ${revision}`,
        'not_found',
      );
    const template = structuredClone(chosen.rs.spec.template);
    // The ReplicaSet's own label; the Deployment controller adds it back.
    delete template.metadata?.labels?.['pod-template-hash'];
    return { revision: chosen.revision, replicaSet: chosen.rs.metadata?.name ?? '', template };
  }

  /**
   * Replaces the deployment's pod template with `template` (a strategic-merge `$patch: replace`), only
   * if the deployment is still at `resourceVersion`.
   */
  async rollback(
    ref: WorkloadRef,
    template: V1PodTemplateSpec,
    resourceVersion: string,
    dryRun: boolean,
  ): Promise<V1Deployment> {
    const { apps } = await this.api();
    return this.call(
      { verb: 'patch', resource: 'deployments', namespace: ref.namespace, name: ref.name },
      (options) =>
        apps.patchNamespacedDeployment(
          {
            name: ref.name,
            namespace: ref.namespace,
            body: { metadata: { resourceVersion }, spec: { template: { $patch: 'replace', ...template } } },
            fieldManager: FIELD_MANAGER,
            ...(dryRun ? { dryRun: 'All' } : {}),
          },
          options,
        ),
      'application/strategic-merge-patch+json',
    );
  }

  /** The workload's pods, by its selector. */
  async pods(ref: WorkloadRef, selector: Record<string, string> | undefined): Promise<V1Pod[]> {
    const { core } = await this.api();
    const list = await this.call({ verb: 'list', resource: 'pods', namespace: ref.namespace }, (options) =>
      core.listNamespacedPod({ namespace: ref.namespace, labelSelector: labelSelector(selector) }, options),
    );
    return list.items;
  }

  async pod(namespace: string, name: string): Promise<V1Pod> {
    const { core } = await this.api();
    return this.call({ verb: 'get', resource: 'pods', namespace, name }, (options) =>
      core.readNamespacedPod({ name, namespace }, options),
    );
  }

  /** The last `lines` lines at or above `level` of one container (the previous, crashed one with `previous`). */
  async logs(
    namespace: string,
    pod: string,
    options: { container?: string | undefined; lines: number; level: LogLevel; previous: boolean },
  ): Promise<string[]> {
    const { core } = await this.api();
    const tailLines = options.level === 'all' ? options.lines : LOG_SCAN_LINES;
    const text = await this.call({ verb: 'get', resource: 'pods/log', namespace, name: pod }, (call) =>
      core.readNamespacedPodLog(
        {
          name: pod,
          namespace,
          tailLines,
          ...(options.container ? { container: options.container } : {}),
          ...(options.previous ? { previous: true } : {}),
        },
        call,
      ),
    );
    return String(text)
      .split('\n')
      .filter((line) => line.trim() !== '' && levelAtLeast(line, options.level))
      .slice(-options.lines);
  }

  /** Events whose involved object is one of `names`, newest last. */
  async events(namespace: string, names: readonly string[]): Promise<CoreV1Event[]> {
    const { core } = await this.api();
    const lists = await Promise.all(
      names.map((name) =>
        this.call({ verb: 'list', resource: 'events', namespace }, (options) =>
          core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` }, options),
        ),
      ),
    );
    return lists.flatMap((list) => list.items).sort((a, b) => eventTime(a) - eventTime(b));
  }

  private async api(): Promise<Apis> {
    if (!this.apis) {
      const { KubeConfig, AppsV1Api, CoreV1Api, AutoscalingV2Api } = await client();
      const config = new KubeConfig();
      try {
        if (this.settings.inCluster) config.loadFromCluster();
        else {
          config.loadFromFile(this.settings.kubeconfig as string);
          if (this.settings.context) config.setCurrentContext(this.settings.context);
        }
        if (!config.getCurrentCluster()) throw new Error('no cluster in the current context');
      } catch (error) {
        throw new KubernetesTargetError(
          `cluster ${this.name}: cannot load its credentials: ${(error as Error).message.split('\n')[0]}`,
          'unreachable',
        );
      }
      this.apis = {
        apps: config.makeApiClient(AppsV1Api),
        core: config.makeApiClient(CoreV1Api),
        autoscaling: config.makeApiClient(AutoscalingV2Api),
      };
    }
    return this.apis;
  }

  /** One request with a deadline (and a patch content type); failures become one clear line. */
  private async call<T>(
    what: Call,
    request: (options: ConfigurationOptions) => Promise<T>,
    contentType?: string,
  ): Promise<T> {
    const lib = await client();
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      return await request(requestOptions(lib, signal, contentType));
    } catch (error) {
      throw this.failure(what, error, signal.aborted, lib);
    }
  }

  private failure(what: Call, error: unknown, timedOut: boolean, lib: Client): KubernetesTargetError {
    if (error instanceof KubernetesTargetError) return error;
    const object = `${what.resource} ${what.name ? `${what.namespace}/${what.name}` : `in namespace ${what.namespace}`} on cluster ${this.name}`;
    if (timedOut)
      return new KubernetesTargetError(
        `timeout: ${what.verb} ${object} got no answer within ${this.timeoutMs} ms`,
        'timeout',
      );
    if (!(error instanceof lib.ApiException))
      return new KubernetesTargetError(
        `cannot reach the API of cluster ${this.name}: ${String((error as Error).message).split('\n')[0]}`,
        'unreachable',
      );
    const message = statusMessage(error.body);
    const code = error.code as number;
    if (code === 403)
      return new KubernetesTargetError(
        `forbidden: the API refused to ${what.verb} ${object}${message ? ` (${message})` : ''}`,
        'forbidden',
      );
    if (code === 401)
      return new KubernetesTargetError(
        `unauthorized: cluster ${this.name} did not accept the credentials`,
        'forbidden',
      );
    if (code === 409)
      return new KubernetesTargetError(
        `conflict: ${object} changed since it was read${message ? ` (${message})` : ''}`,
        'conflict',
      );
    if (code === 404) return new KubernetesTargetError(`not found: ${object}`, 'not_found');
    return new KubernetesTargetError(
      `${what.verb} ${object} failed with HTTP ${code}${message ? `: ${message}` : ''}`,
      'api',
    );
  }
}

/**
 * One client per cluster target, shared by every action and read on it; a target whose settings a
 * reloaded TARGETS_FILE changed gets a new one.
 */
export class KubernetesTargets {
  private readonly clients = new Map<string, KubernetesTarget>();

  /** `maxTimeoutMs`: a deadline for every request shorter than the targets' own (triage's diagnosis timeout). */
  constructor(private readonly options: { maxTimeoutMs?: number } = {}) {}

  get(name: string, settings: KubernetesConnection): KubernetesTarget {
    const key = `${name} ${JSON.stringify(settings)}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new KubernetesTarget(name, settings, this.options);
      this.clients.set(key, client);
    }
    return client;
  }
}

export function plural(kind: WorkloadRef['kind']): string {
  return `${kind}s`;
}

/** Per-request options: the deadline, and the patch's content type (the client defaults to JSON patch). */
function requestOptions(
  { Observable }: Client,
  signal: AbortSignal,
  contentType: string | undefined,
): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (context: RequestContext) => {
      context.setSignal(signal);
      if (contentType) context.setHeaderParam('Content-Type', contentType);
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

function controllerOf(
  owners: readonly { kind: string; name: string; controller?: boolean }[] | undefined,
): { kind: string; name: string } | undefined {
  return owners?.find((owner) => owner.controller) ?? owners?.[0];
}

function labelSelector(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

function statusMessage(body: unknown): string | null {
  let value = body;
  if (typeof body === 'string')
    try {
      value = JSON.parse(body);
    } catch {
      return body.trim().split('\n')[0]?.slice(0, 300) || null;
    }
  const status = statusSchema.safeParse(value);
  return status.success ? (status.data.message ?? status.data.reason ?? null) : null;
}

function eventTime(event: CoreV1Event): number {
  const at =
    event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? event.metadata.creationTimestamp;
  return at ? new Date(at).getTime() : 0;
}
