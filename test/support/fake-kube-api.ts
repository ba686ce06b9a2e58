import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { canonicalJson, sha256 } from '../../shared/canonical.js';
import { KubernetesTarget } from '../../shared/remote/kubernetes.js';
import { listenLocally } from './http.js';

/**
 * A Kubernetes API server for tests, on 127.0.0.1, implementing exactly the endpoints Hermes calls
 * with the request and response shapes of the Kubernetes API reference: apps/v1 Deployments,
 * StatefulSets, DaemonSets and ReplicaSets (get, list by labelSelector, patch), their autoscaling/v1
 * `scale` subresource (get, patch), core/v1 pods (get, list by labelSelector), `pods/{name}/log`
 * (container, previous, tailLines; text/plain), events (fieldSelector `involvedObject.name=`),
 * autoscaling/v2 HorizontalPodAutoscalers (list). Patches: `application/merge-patch+json` (RFC 7386)
 * and `application/strategic-merge-patch+json` (map merge and the `$patch: replace` directive —
 * what Hermes sends); a `metadata.resourceVersion` in a patch is a precondition (409 Conflict);
 * `dryRun=All` answers with the would-be object and stores nothing. Errors are `Status` objects.
 * A Deployment whose pod template changes gets a ReplicaSet per template with the revision
 * annotations the Deployment controller writes, so rollbacks find real history. With `enforce`,
 * Hermes' token gets 403 for anything a Role's rules do not allow, as RBAC answers.
 */
export interface FakeKubeApi {
  url: string;
  /** A kubeconfig file (context `fake`) whose cluster is this server, with its bearer token. */
  kubeconfig: string;
  /** Every request: method, path, query, content type and parsed body. */
  requests: KubeRequest[];
  addDeployment(spec: WorkloadSpec): KubeObject;
  addStatefulSet(spec: WorkloadSpec): KubeObject;
  addHpa(namespace: string, name: string, target: { kind: string; name: string }): void;
  addEvent(
    namespace: string,
    involved: { kind: string; name: string },
    reason: string,
    message: string,
  ): void;
  /** A pod's status for one container: restarts, the reason it waits, the last termination. */
  setContainerStatus(namespace: string, pod: string, status: Partial<ContainerStatus>): void;
  setLogs(namespace: string, pod: string, logs: { current?: string; previous?: string }): void;
  get(resource: string, namespace: string, name: string): KubeObject | undefined;
  /** The next write to this object first sees another writer change it (a genuine 409). */
  interveneBeforeNextWrite(resource: string, namespace: string, name: string): void;
  /** RBAC says no to this verb on this resource (e.g. `patch`, `deployments/scale`). */
  deny(verb: string, resource: string): void;
  /** Hermes' token may do only what these Role rules allow (null: anything); the admin token is never limited. */
  enforce(rules: readonly RbacRule[] | null): void;
  /** A kubeconfig with an unrestricted token, for tests to set the scene. */
  adminKubeconfig: string;
  /** The headers an admin request needs (for fetch). */
  adminHeaders: Record<string, string>;
  /** Answers every request (or those `slow` picks) only after this long. */
  latencyMs: number;
  slow: ((request: KubeRequest) => boolean) | null;
  close(): Promise<void>;
}

export interface WorkloadSpec {
  namespace: string;
  name: string;
  replicas: number;
  image?: string;
  /** Pods created for the current template (default: `replicas`, at most 3). */
  pods?: number;
}

export interface RbacRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export interface KubeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  body: unknown;
}

export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

interface Metadata {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller: boolean }[];
}

interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  image: string;
  state: Record<string, unknown>;
  lastState: Record<string, unknown>;
}

/** A container that was OOM-killed (`startedAt` to `finishedAt`), restarted `restartCount` times, now backing off. */
export function oomCrashLooping(
  restartCount: number,
  terminated: { startedAt: string; finishedAt: string },
): Partial<ContainerStatus> {
  return {
    ready: false,
    restartCount,
    state: {
      waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container' },
    },
    lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', ...terminated } },
  };
}

/** The names of deployment `namespace/name`'s pods (`app=<name>`), as the official client lists them. */
export async function deploymentPods(api: FakeKubeApi, namespace: string, name: string): Promise<string[]> {
  const cluster = new KubernetesTarget('prod', {
    kubeconfig: api.adminKubeconfig,
    requestTimeoutSeconds: 5,
  });
  const pods = await cluster.pods({ namespace, kind: 'deployment', name }, { app: name });
  return pods.map((pod) => pod.metadata?.name as string);
}

const TOKEN = 'fake-kube-token';
const ADMIN_TOKEN = 'fake-kube-admin-token';
const REVISION = 'deployment.kubernetes.io/revision';
const APPS = {
  deployments: 'Deployment',
  statefulsets: 'StatefulSet',
  daemonsets: 'DaemonSet',
  replicasets: 'ReplicaSet',
};
const CORE = { pods: 'Pod', events: 'Event' };

export async function startFakeKubeApi(): Promise<FakeKubeApi> {
  const store = new Map<string, KubeObject>();
  const logs = new Map<string, { current?: string; previous?: string }>();
  const intervene = new Set<string>();
  const denied = new Set<string>();
  let enforced: readonly RbacRule[] | null = null;
  let version = 1000;
  const nextVersion = () => String(++version);
  const key = (resource: string, namespace: string, name: string) => `${resource}/${namespace}/${name}`;
  const dir = mkdtempSync(join(tmpdir(), 'hermes-fake-kube-'));

  const meta = (namespace: string, name: string, extra: Partial<Metadata> = {}): Metadata => ({
    name,
    namespace,
    uid: randomUUID(),
    resourceVersion: nextVersion(),
    creationTimestamp: new Date().toISOString(),
    ...extra,
  });

  const put = (resource: string, object: KubeObject) =>
    store.set(key(resource, object.metadata.namespace, object.metadata.name), object);

  /** What the Deployment controller does when a template is new: a ReplicaSet and pods for it. */
  const reconcile = (deployment: KubeObject, podCount?: number) => {
    const { namespace, name } = deployment.metadata;
    const template = deployment.spec?.template as { metadata: { labels: Record<string, string> } };
    const hash = templateHash(template);
    const owned = [...store.values()].filter(
      (o) => o.kind === 'ReplicaSet' && o.metadata.ownerReferences?.[0]?.uid === deployment.metadata.uid,
    );
    const revisions = owned.map((rs) => Number(rs.metadata.annotations?.[REVISION] ?? 0));
    const next = String(Math.max(0, ...revisions) + 1);
    const existing = owned.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    // The rollout completes at once: the other ReplicaSets' pods are gone.
    for (const [podKey, pod] of store)
      if (
        pod.kind === 'Pod' &&
        owned.some((rs) => rs !== existing && rs.metadata.uid === pod.metadata.ownerReferences?.[0]?.uid)
      )
        store.delete(podKey);
    if (existing) {
      if (existing.metadata.annotations?.[REVISION] === deployment.metadata.annotations?.[REVISION]) return;
      existing.metadata.annotations = { ...existing.metadata.annotations, [REVISION]: next };
      for (let i = 0; i < Math.min(Number(deployment.spec?.replicas ?? 1), 3); i++)
        addPod(existing, `${existing.metadata.name}-${randomUUID().slice(0, 5)}`);
    } else {
      const rsName = `${name}-${hash}`;
      const labels = { ...template.metadata.labels, 'pod-template-hash': hash };
      put('replicasets', {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: meta(namespace, rsName, {
          labels,
          annotations: { [REVISION]: next },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name,
              uid: deployment.metadata.uid,
              controller: true,
            },
          ],
        }),
        spec: {
          replicas: deployment.spec?.replicas,
          selector: { matchLabels: labels },
          template: { ...structuredClone(template), metadata: { labels } },
        },
        status: { replicas: 0 },
      });
      const rs = store.get(key('replicasets', namespace, rsName)) as KubeObject;
      (rs.spec as { template: { metadata: Record<string, unknown> } }).template.metadata = {
        ...(structuredClone(template.metadata) as Record<string, unknown>),
        labels,
      };
      const count = podCount ?? Math.min(Number(deployment.spec?.replicas ?? 1), 3);
      for (let i = 0; i < count; i++) addPod(rs, `${rsName}-${randomUUID().slice(0, 5)}`);
    }
    deployment.metadata.annotations = { ...deployment.metadata.annotations, [REVISION]: next };
  };

  const addPod = (owner: KubeObject, podName: string) => {
    const template = owner.spec?.template as { metadata: { labels: Record<string, string> }; spec: PodSpec };
    put('pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: meta(owner.metadata.namespace, podName, {
        labels: template.metadata.labels,
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: owner.kind,
            name: owner.metadata.name,
            uid: owner.metadata.uid,
            controller: true,
          },
        ],
      }),
      spec: structuredClone(template.spec) as unknown as Record<string, unknown>,
      status: {
        phase: 'Running',
        containerStatuses: template.spec.containers.map((c) => ({
          name: c.name,
          ready: true,
          restartCount: 0,
          image: c.image,
          state: { running: { startedAt: new Date().toISOString() } },
          lastState: {},
        })),
      },
    });
  };

  const addWorkload = (kind: 'Deployment' | 'StatefulSet', resource: string, spec: WorkloadSpec) => {
    const labels = { app: spec.name };
    const object: KubeObject = {
      apiVersion: 'apps/v1',
      kind,
      metadata: meta(spec.namespace, spec.name, { generation: 1, labels, annotations: {} }),
      spec: {
        replicas: spec.replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [{ name: spec.name, image: spec.image ?? `registry.example/${spec.name}:1.0.0` }],
          },
        },
      },
      status: { observedGeneration: 1, replicas: spec.replicas, readyReplicas: spec.replicas },
    };
    put(resource, object);
    if (kind === 'Deployment') reconcile(object, spec.pods);
    else
      for (let i = 0; i < (spec.pods ?? Math.min(spec.replicas, 3)); i++) addPod(object, `${spec.name}-${i}`);
    syncStatus(object);
    return object;
  };

  const syncStatus = (object: KubeObject) => {
    if (object.kind !== 'Deployment' && object.kind !== 'StatefulSet') return;
    const replicas = Number(object.spec?.replicas ?? 0);
    object.status = {
      ...object.status,
      observedGeneration: object.metadata.generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
    };
  };

  const fake: FakeKubeApi = {
    url: '',
    kubeconfig: join(dir, 'kubeconfig'),
    requests: [],
    latencyMs: 0,
    slow: null,
    addDeployment: (spec) => addWorkload('Deployment', 'deployments', spec),
    addStatefulSet: (spec) => addWorkload('StatefulSet', 'statefulsets', spec),
    addHpa(namespace, name, target) {
      put('horizontalpodautoscalers', {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: meta(namespace, name),
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: target.kind, name: target.name },
          minReplicas: 2,
          maxReplicas: 20,
          metrics: [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
            },
          ],
        },
        status: { currentReplicas: 3, desiredReplicas: 3 },
      });
    },
    addEvent(namespace, involved, reason, message) {
      const now = new Date().toISOString();
      put('events', {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: meta(namespace, `${involved.name}.${randomUUID().slice(0, 8)}`),
        involvedObject: { kind: involved.kind, name: involved.name, namespace },
        reason,
        message,
        type: reason === 'BackOff' || reason === 'Failed' ? 'Warning' : 'Normal',
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: 'kubelet' },
      });
    },
    setContainerStatus(namespace, pod, status) {
      const object = store.get(key('pods', namespace, pod));
      if (!object) throw new Error(`no pod ${namespace}/${pod}`);
      const statuses = (object.status as { containerStatuses: ContainerStatus[] }).containerStatuses;
      statuses[0] = { ...(statuses[0] as ContainerStatus), ...status };
    },
    setLogs(namespace, pod, text) {
      logs.set(`${namespace}/${pod}`, text);
    },
    get: (resource, namespace, name) => store.get(key(resource, namespace, name)),
    interveneBeforeNextWrite: (resource, namespace, name) => intervene.add(key(resource, namespace, name)),
    deny: (verb, resource) => denied.add(`${verb} ${resource}`),
    enforce: (rules) => {
      enforced = rules;
    },
    adminKubeconfig: join(dir, 'admin-kubeconfig'),
    adminHeaders: { authorization: `Bearer ${ADMIN_TOKEN}` },
    close: async () => {},
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const contentType = req.headers['content-type']?.split(';')[0];
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const request = { method, path: url.pathname, query: url.searchParams, contentType, body };
    fake.requests.push(request);
    if (fake.latencyMs > 0 && (fake.slow?.(request) ?? true))
      await new Promise((resolve) => setTimeout(resolve, fake.latencyMs));
    const send = (code: number, value: unknown, type = 'application/json') => {
      if (res.destroyed) return;
      res.writeHead(code, { 'content-type': type });
      res.end(typeof value === 'string' ? value : JSON.stringify(value));
    };
    const fail = (code: number, reason: string, message: string, details?: Record<string, unknown>) =>
      send(code, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message,
        reason,
        details,
        code,
      });

    const admin = req.headers.authorization === `Bearer ${ADMIN_TOKEN}`;
    if (!admin && req.headers.authorization !== `Bearer ${TOKEN}`)
      return fail(401, 'Unauthorized', 'Unauthorized');
    const route = parseRoute(url.pathname);
    if (!route) return fail(404, 'NotFound', 'the server could not find the requested resource');
    const { group, namespace, resource, name, subresource } = route;
    const verb =
      method === 'PATCH' ? 'patch' : method === 'GET' ? (name ? 'get' : 'list') : method.toLowerCase();
    const rbacResource = subresource ? `${resource}/${subresource}` : resource;
    const groupName = group === 'core' ? '' : group;
    const allowed =
      admin ||
      (!denied.has(`${verb} ${rbacResource}`) &&
        (enforced === null ||
          enforced.some(
            (rule) =>
              rule.apiGroups.includes(groupName) &&
              rule.resources.includes(rbacResource) &&
              rule.verbs.includes(verb),
          )));
    if (!allowed)
      return fail(
        403,
        'Forbidden',
        `${resource}${groupName ? `.${groupName}` : ''}${name ? ` "${name}"` : ''} is forbidden: User "system:serviceaccount:hermes:hermes" cannot ${verb} resource "${rbacResource}" in API group "${groupName}" in the namespace "${namespace}"`,
        { name, group: groupName, kind: resource },
      );

    if (!name) {
      if (method !== 'GET') return fail(405, 'MethodNotAllowed', 'the server does not allow this method');
      const items = [...store.values()].filter(
        (o) =>
          kindResource(o.kind) === resource &&
          o.metadata.namespace === namespace &&
          selects(url.searchParams, o),
      );
      return send(200, {
        apiVersion: group === 'core' ? 'v1' : `${group}/${route.version}`,
        kind: `${items[0]?.kind ?? kindOf(resource)}List`,
        metadata: { resourceVersion: String(version) },
        items,
      });
    }
    const object = store.get(key(resource, namespace, name));
    const notFound = () =>
      fail(404, 'NotFound', `${resource}${groupName ? `.${groupName}` : ''} "${name}" not found`, {
        name,
        group: groupName,
        kind: resource,
      });
    if (!object) return notFound();

    if (subresource === 'log') {
      if (method !== 'GET') return fail(405, 'MethodNotAllowed', 'the server does not allow this method');
      const containers = (object.spec as unknown as PodSpec).containers.map((c) => c.name);
      const container = url.searchParams.get('container') ?? (containers.length === 1 ? containers[0] : null);
      if (!container)
        return fail(
          400,
          'BadRequest',
          `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`,
        );
      const previous = url.searchParams.get('previous') === 'true';
      const stored = logs.get(`${namespace}/${name}`) ?? {};
      const found = previous ? stored.previous : (stored.current ?? '');
      if (found === undefined)
        return fail(
          400,
          'BadRequest',
          `previous terminated container "${container}" in pod "${name}" not found`,
        );
      const tail = Number(url.searchParams.get('tailLines') ?? Number.NaN);
      const lines = found.split('\n').filter((line, i, all) => line !== '' || i < all.length - 1);
      return send(200, `${(Number.isFinite(tail) ? lines.slice(-tail) : lines).join('\n')}\n`, 'text/plain');
    }

    if (subresource === 'scale') {
      const scale = () => ({
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: {
          name,
          namespace,
          uid: object.metadata.uid,
          resourceVersion: object.metadata.resourceVersion,
          creationTimestamp: object.metadata.creationTimestamp,
        },
        spec: { replicas: object.spec?.replicas },
        status: {
          replicas: object.status?.replicas ?? 0,
          selector: Object.entries(
            ((object.spec as { selector: unknown }).selector as { matchLabels: Record<string, string> })
              .matchLabels,
          )
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
        },
      });
      if (method === 'GET') return send(200, scale());
    }
    if (method === 'GET' && !subresource) return send(200, object);
    if (method !== 'PATCH') return fail(405, 'MethodNotAllowed', 'the server does not allow this method');

    // PATCH of the object or its scale.
    if (
      contentType !== 'application/merge-patch+json' &&
      contentType !== 'application/strategic-merge-patch+json'
    )
      return fail(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml`,
      );
    const dryRun = url.searchParams.getAll('dryRun');
    if (dryRun.some((value) => value !== 'All'))
      return fail(400, 'BadRequest', `dryRun: Unsupported value: "${dryRun[0]}": supported values: "All"`);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return fail(400, 'BadRequest', 'the request body must be a JSON object');
    const objectKey = key(resource, namespace, name);
    if (intervene.delete(objectKey)) object.metadata.resourceVersion = nextVersion();
    const patch = body as { metadata?: { resourceVersion?: string }; spec?: Record<string, unknown> };
    const precondition = patch.metadata?.resourceVersion;
    if (precondition !== undefined && precondition !== object.metadata.resourceVersion)
      return fail(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resource}.${groupName} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: groupName, kind: resource },
      );
    const strategic = contentType === 'application/strategic-merge-patch+json';
    const updated = structuredClone(object);
    if (subresource === 'scale') {
      const replicas = patch.spec?.replicas;
      if (replicas !== undefined && (!Number.isInteger(replicas) || (replicas as number) < 0))
        return fail(
          422,
          'Invalid',
          `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        );
      if (replicas !== undefined) (updated.spec as Record<string, unknown>).replicas = replicas;
    } else {
      const { metadata: _m, ...rest } = patch;
      Object.assign(updated, mergePatch(updated, rest, strategic));
    }
    const specChanged = JSON.stringify(updated.spec) !== JSON.stringify(object.spec);
    if (specChanged) updated.metadata.generation = (object.metadata.generation ?? 1) + 1;
    if (dryRun.length === 0) {
      updated.metadata.resourceVersion = nextVersion();
      if (updated.kind === 'Deployment' && specChanged) reconcile(updated);
      syncStatus(updated);
      store.set(objectKey, updated);
    }
    if (subresource === 'scale')
      return send(200, {
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: {
          name,
          namespace,
          uid: updated.metadata.uid,
          resourceVersion: updated.metadata.resourceVersion,
        },
        spec: { replicas: updated.spec?.replicas },
        status: { replicas: object.status?.replicas ?? 0 },
      });
    return send(200, updated);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(error.message);
    });
  });
  const listening = await listenLocally(server);
  fake.url = listening.url;
  for (const [path, token] of [
    [fake.kubeconfig, TOKEN],
    [fake.adminKubeconfig, ADMIN_TOKEN],
  ] as const)
    writeFileSync(
      path,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: fake.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'hermes', user: { token } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'hermes' } }],
        'current-context': 'fake',
      }),
    );
  fake.close = async () => {
    await listening.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return fake;
}

/** The rules of a Role shipped in deploy/kubernetes/rbac.yaml. */
export function shippedRole(name: string): RbacRule[] {
  const docs = parseAllDocuments(readFileSync('deploy/kubernetes/rbac.yaml', 'utf8')).map(
    (doc) => doc.toJSON() as { kind: string; metadata: { name: string }; rules?: RbacRule[] },
  );
  const role = docs.find((doc) => doc.kind === 'Role' && doc.metadata.name === name);
  if (!role?.rules) throw new Error(`no Role ${name} in deploy/kubernetes/rbac.yaml`);
  return role.rules;
}

interface PodSpec {
  containers: { name: string; image: string }[];
}

const ROUTE =
  /^\/(?:api\/(v1)|apis\/(apps|autoscaling)\/(v1|v2))\/namespaces\/([a-z0-9-]+)\/([a-z]+)(?:\/([^/]+))?(?:\/(scale|log))?$/;

function parseRoute(path: string) {
  const m = ROUTE.exec(path);
  if (!m) return null;
  const group = m[2] ?? 'core';
  const version = (m[1] ?? m[3]) as string;
  const resource = m[5] as string;
  const known =
    (group === 'core' && resource in CORE) ||
    (group === 'apps' && version === 'v1' && resource in APPS) ||
    (group === 'autoscaling' && version === 'v2' && resource === 'horizontalpodautoscalers');
  if (!known) return null;
  if (m[7] === 'scale' && resource !== 'deployments' && resource !== 'statefulsets') return null;
  if (m[7] === 'log' && resource !== 'pods') return null;
  return { group, version, namespace: m[4] as string, resource, name: m[6], subresource: m[7] };
}

function kindOf(resource: string): string {
  return (
    { ...APPS, ...CORE, horizontalpodautoscalers: 'HorizontalPodAutoscaler' } as Record<string, string>
  )[resource] as string;
}

function kindResource(kind: string): string {
  return kind === 'HorizontalPodAutoscaler' ? 'horizontalpodautoscalers' : `${kind.toLowerCase()}s`;
}

/** Equality-based labelSelector (`a=b,c=d`) and the `involvedObject.name=` fieldSelector. */
function selects(query: URLSearchParams, object: KubeObject): boolean {
  const labels = object.metadata.labels ?? {};
  for (const term of (query.get('labelSelector') ?? '').split(',').filter(Boolean)) {
    const [k, v] = term.split('=');
    if (labels[k as string] !== v) return false;
  }
  for (const term of (query.get('fieldSelector') ?? '').split(',').filter(Boolean)) {
    const [field, value] = term.split('=');
    if (field !== 'involvedObject.name')
      throw new Error(`fieldSelector ${field} is not implemented by the fake`);
    if ((object.involvedObject as { name?: string } | undefined)?.name !== value) return false;
  }
  return true;
}

/** RFC 7386 merge; `strategic` adds the `$patch: replace` directive on maps (lists are replaced in both). */
function mergePatch(target: unknown, patch: unknown, strategic: boolean): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const record = patch as Record<string, unknown>;
  if (strategic && record.$patch === 'replace') {
    const { $patch: _p, ...rest } = record;
    return stripNulls(rest);
  }
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(record)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v, strategic);
  }
  return out;
}

function stripNulls(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}

function templateHash(template: unknown): string {
  const { metadata, ...rest } = template as { metadata?: { labels?: Record<string, string> } };
  const labels = { ...metadata?.labels };
  delete labels['pod-template-hash'];
  return sha256(canonicalJson({ ...rest, metadata: { ...metadata, labels } })).slice(0, 10);
}
