import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { HermesError } from '../../../errors.js';
import {
  type KubernetesTarget,
  KubernetesTargetError,
  plural,
  RESTARTED_AT,
  type Workload,
  type WorkloadRef,
} from '../../../remote/kubernetes.js';
import { STATE_BEFORE_LINES } from '../../../schemas/incident.js';
import type { Backend, BackendResult, LiveReplicas, Operation } from '../driver.js';
import type { Placement, ScopedPlacement } from '../placement.js';
import { topologyWords } from '../topology.js';
import { WorkloadReads } from './workload-reads.js';

const VERBS: ReadonlySet<Operation['verb']> = new Set(['restart', 'scale', 'rollback']);

/** One change, described for people and applied either as a server-side dry run or for real. */
interface Change {
  description: Record<string, unknown> & { operation: string };
  apply(dryRun: boolean): Promise<unknown>;
}

class Refusal extends HermesError {}

/** The workload a backend acts on, resolved once (a pod's owner is asked of the cluster). */
interface Subject {
  cluster: KubernetesTarget;
  placement: Placement;
  workload(): Promise<WorkloadRef>;
  label(ref: WorkloadRef): string;
  where: string;
}

/**
 * A kubernetes target's workload: `restart` is a rollout restart (the pod-template annotation
 * `kubectl rollout restart` sets), `scale` patches the scale subresource from the live count,
 * `rollback` puts back the previous ReplicaSet's pod template. A pod named by the alerts acts on the
 * workload that owns it. Every change runs as a server-side dry run (`dryRun=All`) first.
 */
export function kubernetesWrites(
  cluster: KubernetesTarget,
  placement: ScopedPlacement,
  operation: Operation,
): Backend | string {
  if (!VERBS.has(operation.verb) || operation.unit)
    return `${operation.verb}${operation.unit ? ` of ${operation.unit}` : ''} is not available on kubernetes targets (target ${placement.target})`;
  const subject = subjectOf(cluster, placement);
  let rollbackPlan: Promise<RollbackPlan> | undefined;
  const plan = async (args: Record<string, unknown>): Promise<Change> => {
    const ref = await subject.workload();
    if (operation.verb === 'scale') return scaleChange(subject, ref, args);
    if (operation.verb !== 'rollback') return restartChange(subject, ref);
    if (ref.kind !== 'deployment')
      throw new Refusal(`rollback is only available for Deployments, not ${subject.label(ref)}`);
    rollbackPlan ??= planRollback(cluster, ref, args.revision as number | undefined);
    return rollbackChange(subject, ref, await rollbackPlan);
  };
  const attempt = async (
    args: Record<string, unknown>,
    run: (change: Change) => Promise<BackendResult>,
  ): Promise<BackendResult> => {
    let change: Change;
    try {
      change = await plan(args);
    } catch (error) {
      return { ok: false, decision: 'blocked', reason: refusalOf(error) };
    }
    return run(change);
  };
  return {
    async precheck(args) {
      try {
        await plan(args);
        return null;
      } catch (error) {
        return refusalOf(error);
      }
    },
    async describe(args) {
      try {
        return (await plan(args)).description;
      } catch (error) {
        return {
          operation: `${operation.verb} ${placement.resource} ${subject.where} (${refusalOf(error)})`,
        };
      }
    },
    dryRun: (args) => attempt(args, serverDryRun),
    run: (args) => attempt(args, applyChecked),
    async actsOn() {
      const ref = await subject.workload();
      const name = `${ref.kind}/${ref.name}`;
      return { key: name, name };
    },
    liveReplicas: () => liveReplicas(subject),
    ...(operation.verb === 'restart' && {
      stateBefore: () => new WorkloadReads(cluster, placement).stateBefore(STATE_BEFORE_LINES),
    }),
  };
}

function subjectOf(cluster: KubernetesTarget, placement: Placement): Subject {
  let resolved: Promise<WorkloadRef> | undefined;
  return {
    cluster,
    placement,
    workload() {
      resolved ??= resolveWorkload(cluster, placement);
      return resolved;
    },
    label: (ref) =>
      `${ref.kind} ${ref.namespace}/${ref.name}${placement.workloadKind === 'pod' ? ` (owner of pod ${placement.resource})` : ''}`,
    where: `on cluster ${placement.target}${topologyWords(placement)} via kubernetes`,
  };
}

function patch(ref: WorkloadRef, contentType: string, body: unknown, subresource = '') {
  return {
    method: 'PATCH',
    path: `/apis/apps/v1/namespaces/${ref.namespace}/${plural(ref.kind)}/${ref.name}${subresource}`,
    contentType,
    body,
  };
}

function scaleChange(subject: Subject, ref: WorkloadRef, args: Record<string, unknown>): Change {
  const replicas = args.replicas as number;
  const resourceVersion = String(args.resourceVersion);
  return {
    description: {
      operation: `scale ${subject.label(ref)} ${args.from} → ${replicas} ${subject.where}`,
      ...identity(subject.placement, ref),
      replicas: { from: args.from, to: replicas },
      request: patch(
        ref,
        'application/merge-patch+json',
        { metadata: { resourceVersion }, spec: { replicas } },
        '/scale',
      ),
    },
    apply: async (dryRun) => subject.cluster.setReplicas(ref, replicas, resourceVersion, dryRun),
  };
}

function rollbackChange(subject: Subject, ref: WorkloadRef, plan: RollbackPlan): Change {
  const { current, target, resourceVersion } = plan;
  const body = {
    metadata: { resourceVersion },
    spec: { template: { $patch: 'replace', ...target.template } },
  };
  return {
    description: {
      operation: `roll back ${subject.label(ref)} from revision ${current.revision} (${current.images}) to revision ${target.revision} (${target.images}, ReplicaSet ${target.replicaSet}) ${subject.where}`,
      ...identity(subject.placement, ref),
      revision: { from: current.revision, to: target.revision },
      request: patch(ref, 'application/strategic-merge-patch+json', body),
    },
    apply: async (dryRun) =>
      summary(await subject.cluster.rollback(ref, target.template, resourceVersion, dryRun)),
  };
}

function restartChange(subject: Subject, ref: WorkloadRef): Change {
  const at = new Date().toISOString();
  const body = { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: at } } } } };
  return {
    description: {
      operation: `restart ${subject.label(ref)} ${subject.where}`,
      ...identity(subject.placement, ref),
      request: patch(ref, 'application/strategic-merge-patch+json', body),
    },
    apply: async (dryRun) => summary(await subject.cluster.restart(ref, at, dryRun)),
  };
}

/** The server-side dry run: admission, validation and preconditions, nothing stored. */
function serverDryRun(change: Change): Promise<BackendResult> {
  return change.apply(true).then(
    (answer) => ({ ok: true, result: { ...change.description, dryRunAnswer: answer } }),
    (error) => failure(error, change, true),
  );
}

/** The real change, only after its server-side dry run passed. */
async function applyChecked(change: Change): Promise<BackendResult> {
  const checked = await serverDryRun(change);
  if (!checked.ok) return checked;
  try {
    const answer = await change.apply(false);
    return { ok: true, result: { ...(checked.result as object), answer } };
  } catch (error) {
    return failure(error, change, false);
  }
}

async function liveReplicas(subject: Subject): Promise<LiveReplicas> {
  const { cluster, placement } = subject;
  try {
    const ref = await subject.workload();
    if (ref.kind === 'daemonset')
      return {
        ok: false,
        reason: `${subject.label(ref)} on cluster ${placement.target} runs one pod per node: it has no replica count to scale`,
      };
    const autoscaler = await cluster.autoscalerOf(ref);
    if (autoscaler)
      return {
        ok: false,
        reason: `${subject.label(ref)} on cluster ${placement.target} is managed by HorizontalPodAutoscaler ${autoscaler}, which would undo a manual scale: change the autoscaler's bounds instead`,
      };
    const live = await cluster.replicas(ref);
    return {
      ok: true,
      replicas: live.replicas,
      resourceVersion: live.resourceVersion,
      workload: `${ref.kind} ${ref.namespace}/${ref.name} on cluster ${placement.target}`,
    };
  } catch (error) {
    return { ok: false, reason: refusalOf(error) };
  }
}

async function resolveWorkload(cluster: KubernetesTarget, placement: Placement): Promise<WorkloadRef> {
  const name = placement.resource;
  if (!name)
    throw new Refusal(
      `the alerts name no workload in namespace ${placement.host} (target ${placement.target})`,
    );
  if (placement.workloadKind === 'pod') return cluster.ownerOf(placement.host, name);
  return { namespace: placement.host, kind: placement.workloadKind ?? 'deployment', name };
}

interface RollbackPlan {
  current: { revision: number; images: string };
  target: { revision: number; images: string; replicaSet: string; template: V1PodTemplateSpec };
  resourceVersion: string;
}

async function planRollback(
  cluster: KubernetesTarget,
  ref: WorkloadRef,
  revision: number | undefined,
): Promise<RollbackPlan> {
  const deployment = await cluster.workload(ref);
  const target = await cluster.previousTemplate(deployment, revision);
  return {
    current: {
      revision: Number(deployment.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0),
      images: images(deployment.spec?.template),
    },
    target: { ...target, images: images(target.template) },
    resourceVersion: deployment.metadata?.resourceVersion ?? '',
  };
}

function images(template: V1PodTemplateSpec | undefined): string {
  return (template?.spec?.containers ?? []).map((c) => c.image ?? '?').join(', ') || 'no containers';
}

function identity(placement: Placement, ref: WorkloadRef) {
  return { target: placement.target, namespace: ref.namespace, workload: { kind: ref.kind, name: ref.name } };
}

/** What the API answered about a workload, without the whole object. */
function summary(workload: Workload) {
  return {
    resourceVersion: workload.metadata?.resourceVersion,
    generation: workload.metadata?.generation,
    restartedAt: workload.spec?.template?.metadata?.annotations?.[RESTARTED_AT] ?? null,
    images: images(workload.spec?.template),
  };
}

function refusalOf(error: unknown): string {
  if (error instanceof Refusal || error instanceof KubernetesTargetError) return error.message;
  throw error;
}

/**
 * A refused request (403) ran nothing: blocked. A timeout of the real change may have been applied:
 * unknown outcome. Anything else failed, and nothing was changed when the dry run is what failed.
 */
function failure(error: unknown, change: Change, dryRun: boolean): BackendResult {
  if (!(error instanceof KubernetesTargetError)) throw error;
  const result = change.description;
  if (error.failure === 'forbidden') return { ok: false, decision: 'blocked', reason: error.message, result };
  if (dryRun)
    return {
      ok: false,
      decision: 'failed',
      reason: `the server-side dry run failed: ${error.message}; nothing was changed`,
      result,
    };
  if (error.failure === 'timeout')
    return {
      ok: false,
      decision: 'unknown_outcome',
      reason: `${error.message}; it may have been applied`,
      result,
    };
  return { ok: false, decision: 'failed', reason: error.message, result };
}
