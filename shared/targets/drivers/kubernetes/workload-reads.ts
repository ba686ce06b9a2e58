import type { CoreV1Event, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { LogLevel } from '../../../log-levels.js';
import type { KubernetesTarget, Workload, WorkloadRef } from '../../../remote/kubernetes.js';
import { TargetReadError, type TargetState } from '../driver.js';
import type { ScopedPlacement } from '../placement.js';

/** Pods whose logs are read for one workload (the unhealthiest first). */
const MAX_LOG_PODS = 3;
const MAX_EVENTS = 20;

/** What a workload's diagnosis shows: its rollout, its pods' state, and recent events. */
const KUBERNETES_DIAGNOSTICS = ['pods', 'events', 'rollout'] as const;

/**
 * Triage's read-only view of the one workload (or pod) an incident's alert names on a cluster: pod
 * logs (current and previous container, level-filtered), pod status, events, rollout status.
 */
export class WorkloadReads {
  constructor(
    private readonly cluster: KubernetesTarget,
    private readonly placement: ScopedPlacement,
  ) {}

  /** The last lines of each pod's containers, the crashed previous container's too, each line tagged. */
  async logs(lines: number, level: LogLevel): Promise<string[]> {
    const { pods } = await this.subject();
    const out: string[] = [];
    for (const pod of unhealthiestFirst(pods).slice(0, MAX_LOG_PODS)) {
      const name = pod.metadata?.name as string;
      const namespace = this.placement.host;
      for (const status of pod.status?.containerStatuses ?? []) {
        const streams = status.restartCount > 0 ? [true, false] : [false];
        for (const previous of streams) {
          const read = await this.cluster
            .logs(namespace, name, { container: status.name, lines, level, previous })
            .catch((error: Error) => [`(no log: ${error.message})`]);
          const tag = `[${name}/${status.name}${previous ? ' previous' : ''}]`;
          out.push(...read.map((line) => `${tag} ${line}`));
        }
      }
    }
    return out;
  }

  /**
   * The unhealthiest pod's most restarted container, as a rollout restart is about to replace it:
   * its restarts, why it waits, its last termination, and the crashed container's last ERROR lines.
   */
  async stateBefore(lines: number): Promise<TargetState> {
    const { pods } = await this.subject();
    const pod = unhealthiestFirst(pods)[0];
    const container = [...(pod?.status?.containerStatuses ?? [])].sort(
      (a, b) => b.restartCount - a.restartCount,
    )[0];
    if (!pod || !container)
      return {
        status: pod?.status?.phase ?? 'no pods',
        restartCount: null,
        exitCode: null,
        oomKilled: null,
        errorLines: [],
      };
    const last = container.state?.terminated ?? container.lastState?.terminated;
    const errorLines = await this.cluster
      .logs(this.placement.host, pod.metadata?.name as string, {
        container: container.name,
        lines,
        level: 'error',
        previous: container.restartCount > 0,
      })
      .catch((error: Error) => [`(no log: ${error.message})`]);
    return {
      status:
        container.state?.waiting?.reason ?? container.state?.terminated?.reason ?? pod.status?.phase ?? null,
      restartCount: container.restartCount,
      exitCode: last?.exitCode ?? null,
      oomKilled: last ? last.reason === 'OOMKilled' : false,
      errorLines,
    };
  }

  /** Rollout status, pod status and recent events together (check_system_resources). */
  async status(): Promise<Record<string, unknown>> {
    const subject = await this.subject();
    return {
      source: `${subject.label} on cluster ${this.placement.target}`,
      ...(subject.workload ? { rollout: rolloutStatus(subject.ref as WorkloadRef, subject.workload) } : {}),
      pods: subject.pods.map(podStatus),
      events: await this.events(subject),
    };
  }

  async diag(name: string): Promise<Record<string, unknown>> {
    const subject = await this.subject();
    switch (name) {
      case 'pods':
        return { pods: subject.pods.map(podStatus) };
      case 'events':
        return { events: await this.events(subject) };
      case 'rollout':
        if (!subject.workload)
          throw new TargetReadError(`${subject.label} belongs to no workload: no rollout`);
        return { rollout: rolloutStatus(subject.ref as WorkloadRef, subject.workload) };
      default:
        throw new TargetReadError(
          `"${name.slice(0, 60)}" is not a diagnostic on kubernetes targets; use one of ${KUBERNETES_DIAGNOSTICS.join(', ')}`,
        );
    }
  }

  private async events(subject: Subject) {
    const names = [
      ...(subject.ref ? [subject.ref.name] : []),
      ...subject.pods.map((pod) => pod.metadata?.name as string),
    ];
    const events = await this.cluster.events(this.placement.host, [...new Set(names)]);
    return events.slice(-MAX_EVENTS).map((event) => eventView(event));
  }

  /** The workload the alert names (a pod's owner for a pod alert), and its pods. */
  private async subject(): Promise<Subject> {
    const { resource, host: namespace, workloadKind } = this.placement;
    if (!resource)
      throw new TargetReadError(
        `the alerts name no workload in namespace ${namespace} (target ${this.placement.target})`,
      );
    if (workloadKind === 'pod') {
      const pod = await this.cluster.pod(namespace, resource);
      const ref = await this.cluster.ownerOf(namespace, resource).catch(() => null);
      const workload = ref ? await this.cluster.workload(ref) : null;
      return { label: `pod ${namespace}/${resource}`, ref, workload, pods: [pod] };
    }
    const ref: WorkloadRef = { namespace, kind: workloadKind ?? 'deployment', name: resource };
    const workload = await this.cluster.workload(ref);
    const pods = await this.cluster.pods(ref, workload.spec?.selector?.matchLabels);
    return { label: `${ref.kind} ${namespace}/${resource}`, ref, workload, pods };
  }
}

interface Subject {
  label: string;
  ref: WorkloadRef | null;
  workload: Workload | null;
  pods: V1Pod[];
}

function unhealthiestFirst(pods: V1Pod[]): V1Pod[] {
  const restarts = (pod: V1Pod) =>
    (pod.status?.containerStatuses ?? []).reduce((sum, status) => sum + status.restartCount, 0);
  return [...pods].sort((a, b) => restarts(b) - restarts(a));
}

function podStatus(pod: V1Pod) {
  const containers = (pod.status?.containerStatuses ?? []).map(containerStatus);
  return {
    name: pod.metadata?.name,
    phase: pod.status?.phase ?? 'Unknown',
    ready: containers.length > 0 && containers.every((c) => c.ready),
    restarts: containers.reduce((sum, c) => sum + c.restarts, 0),
    oomKilled: containers.some((c) => c.lastTermination?.reason === 'OOMKilled'),
    containers,
  };
}

function containerStatus(status: V1ContainerStatus) {
  const { state, lastState } = status;
  const now = state?.running
    ? 'running'
    : state?.waiting
      ? `waiting: ${state.waiting.reason ?? 'unknown'}`
      : state?.terminated
        ? `terminated: ${state.terminated.reason ?? `exit ${state.terminated.exitCode}`}`
        : 'unknown';
  const last = lastState?.terminated;
  return {
    name: status.name,
    ready: status.ready,
    restarts: status.restartCount,
    state: now,
    lastTermination: last
      ? {
          reason: last.reason ?? null,
          exitCode: last.exitCode,
          finishedAt: last.finishedAt ? new Date(last.finishedAt).toISOString() : null,
        }
      : null,
  };
}

/** What `kubectl rollout status` would say. */
function rolloutStatus(ref: WorkloadRef, workload: Workload) {
  const generation = workload.metadata?.generation ?? 0;
  const observed = workload.status?.observedGeneration ?? 0;
  if (ref.kind === 'daemonset') {
    const status = (workload as { status?: Record<string, number> }).status ?? {};
    const desired = status.desiredNumberScheduled ?? 0;
    const updated = status.updatedNumberScheduled ?? 0;
    const available = status.numberAvailable ?? 0;
    return {
      desired,
      updated,
      available,
      complete: observed >= generation && updated === desired && available === desired,
    };
  }
  const spec = workload.spec as { replicas?: number };
  const status = (workload.status ?? {}) as Record<string, unknown>;
  const desired = spec.replicas ?? 1;
  const updated = Number(status.updatedReplicas ?? 0);
  const ready = Number(status.readyReplicas ?? 0);
  const available = Number(status.availableReplicas ?? ready);
  const conditions = (
    (status.conditions ?? []) as { type: string; status: string; reason?: string; message?: string }[]
  )
    .filter((c) => c.status !== 'True' || c.reason === 'ProgressDeadlineExceeded')
    .map((c) => ({ type: c.type, reason: c.reason ?? null, message: c.message ?? null }));
  return {
    desired,
    updated,
    ready,
    available,
    revision: workload.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? null,
    complete: observed >= generation && updated === desired && available === desired,
    ...(conditions.length ? { conditions } : {}),
  };
}

function eventView(event: CoreV1Event) {
  const at = event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp;
  return {
    at: at ? new Date(at).toISOString() : null,
    type: event.type ?? null,
    reason: event.reason ?? null,
    object: `${event.involvedObject.kind ?? ''}/${event.involvedObject.name ?? ''}`,
    count: event.count ?? 1,
    // Event messages come from the cluster's components, but can quote what a workload printed.
    untrusted_message: event.message ?? '',
  };
}
