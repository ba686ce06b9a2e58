import { z } from 'zod';
import { dockerConnectionSchema } from '../remote/docker.js';
import { kubernetesSettingsSchema } from './drivers/kubernetes/settings.js';
import { sshSettingsSchema } from './drivers/ssh/settings.js';
import { template } from './drivers/template.js';
import { topologySchema } from './drivers/topology.js';

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

const common = {
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'target names are [a-z0-9][a-z0-9_.-]*'),
  match: matchSchema.default({}),
  /** What the target acts on; default: the alert's `service` label, else its `job`. */
  resource: template.optional(),
  description: z.string().max(500).optional(),
  /** Region and zone of the target's places (templates); default: the alert's TOPOLOGY_LABELS. */
  topology: topologySchema.optional(),
};

export const targetSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...common, kind: z.literal('ssh'), ssh: sshSettingsSchema }),
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
    topology: common.topology,
    kind: z.literal('kubernetes'),
    kubernetes: kubernetesSettingsSchema,
  }),
  z.strictObject({ ...common, kind: z.literal('local') }),
]);
export type TargetConfig = z.infer<typeof targetSchema>;
export type TargetKind = TargetConfig['kind'];

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
