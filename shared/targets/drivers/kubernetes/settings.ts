import { z } from 'zod';
import { WORKLOAD_KINDS } from '../../../remote/kubernetes.js';
import { seconds, template } from '../template.js';

/** DNS-1123 label: what Kubernetes accepts as a namespace name. */
export const NAMESPACE_PATTERN = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

export const kubernetesSettingsSchema = z
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
export type KubernetesSettings = z.infer<typeof kubernetesSettingsSchema>;
