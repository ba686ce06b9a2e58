import { z } from 'zod';
import { dockerConnectionSchema } from '../remote/docker.js';

/** `{{host}}`, `{{instance}}` and `{{labels.NAME}}` are the only placeholders a target may use. */
const TEMPLATE_PART = /\{\{\s*([^}]*?)\s*\}\}/g;
const PLACEHOLDER = /^(host|instance|labels\.[A-Za-z_][A-Za-z0-9_]*)$/;

const template = z
  .string()
  .min(1)
  .max(500)
  .check((payload) => {
    for (const [, name] of payload.value.matchAll(TEMPLATE_PART))
      if (!PLACEHOLDER.test(name ?? ''))
        payload.issues.push({
          code: 'custom',
          message: `unknown placeholder {{${name}}}: use {{host}}, {{instance}} or {{labels.NAME}}`,
          input: payload.value,
        });
  });

/** Label name → regex, anchored when matched (the whole value must match). */
const matchSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'label names are [A-Za-z_][A-Za-z0-9_]*'),
  z.string().check((payload) => {
    try {
      new RegExp(payload.value);
    } catch (error) {
      payload.issues.push({ code: 'custom', message: (error as Error).message, input: payload.value });
    }
  }),
);

const seconds = (fallback: number) => z.number().int().min(1).max(3_600).default(fallback);

const common = {
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'target names are [a-z0-9][a-z0-9_.-]*'),
  match: matchSchema.default({}),
  /** What the target acts on; default: the alert's `service` label, else its `job`. */
  resource: template.optional(),
  description: z.string().max(500).optional(),
};

const sshSchema = z.strictObject({
  host: template.default('{{host}}'),
  port: z.number().int().min(1).max(65_535).default(22),
  user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a POSIX user name'),
  /** OpenSSH known_hosts file holding the pinned key of every host (plain or hashed names). */
  knownHosts: z.string().min(1),
  /** Private keys: triage loads `read`, the executor loads `write`; each process only its own. */
  keys: z.strictObject({ read: z.string().min(1), write: z.string().min(1) }),
  connectTimeoutSeconds: seconds(10),
  commandTimeoutSeconds: seconds(60),
});

/** DNS-1123 label: what Kubernetes accepts as a namespace name. */
export const NAMESPACE_PATTERN = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
export const WORKLOAD_KINDS = ['deployment', 'statefulset', 'daemonset', 'pod'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

const kubernetesSchema = z
  .strictObject({
    /** A kubeconfig file, and one of its contexts (default: its current-context)… */
    kubeconfig: z.string().min(1).optional(),
    context: z.string().min(1).max(253).optional(),
    /** …or the service account of the pod Hermes runs in. */
    inCluster: z.literal(true).optional(),
    /** The only namespaces Hermes looks at or acts in on this cluster; an alert in another has no target. */
    namespaces: z.array(z.string().regex(NAMESPACE_PATTERN, 'a Kubernetes namespace name')).min(1),
    namespace: template.default('{{labels.namespace}}'),
    /** Default: the alert's `deployment`, `statefulset`, `daemonset`, else `pod` label (a pod acts on its owner). */
    workload: z.strictObject({ kind: z.enum(WORKLOAD_KINDS), name: template }).optional(),
    requestTimeoutSeconds: seconds(10),
  })
  .check((payload) => {
    const { kubeconfig, context, inCluster } = payload.value;
    if ((kubeconfig === undefined) === (inCluster === undefined))
      payload.issues.push({
        code: 'custom',
        message: 'give either kubeconfig (and optionally context) or inCluster: true',
        input: payload.value,
      });
    if (context !== undefined && kubeconfig === undefined)
      payload.issues.push({ code: 'custom', message: 'context needs a kubeconfig', input: payload.value });
  });

export const targetSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...common, kind: z.literal('ssh'), ssh: sshSchema }),
  z.strictObject({
    ...common,
    kind: z.literal('docker'),
    docker: dockerConnectionSchema,
    /** The container to act on; default `{{labels.container}}`, else `{{labels.name}}`. */
    container: template.optional(),
  }),
  // The workload setting says what a kubernetes target acts on: no `resource`.
  z.strictObject({
    name: common.name,
    match: common.match,
    description: common.description,
    kind: z.literal('kubernetes'),
    kubernetes: kubernetesSchema,
  }),
  z.strictObject({ ...common, kind: z.literal('local') }),
]);
export type TargetConfig = z.infer<typeof targetSchema>;
export type TargetKind = TargetConfig['kind'];
export type SshSettings = z.infer<typeof sshSchema>;
export type KubernetesSettings = z.infer<typeof kubernetesSchema>;

export const targetsFileSchema = z
  .strictObject({ version: z.literal(1), targets: z.array(targetSchema).default([]) })
  .check((payload) => {
    const seen = new Set<string>();
    payload.value.targets.forEach((target, index) => {
      if (seen.has(target.name))
        payload.issues.push({
          code: 'custom',
          message: `duplicate target name ${target.name}`,
          input: target.name,
          path: ['targets', index, 'name'],
        });
      seen.add(target.name);
    });
  });
export type TargetsFile = z.infer<typeof targetsFileSchema>;

export { TEMPLATE_PART };
