import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

/** A targets file sending every alert to the `local` target: the policy's own backends, on this machine. */
export const LOCAL_TARGETS = fileURLToPath(new URL('../fixtures/targets-local.yaml', import.meta.url));

export const targetsYaml = (targets: unknown[]): string => stringify({ version: 1, targets });

/** `targets.yaml` holding `targets`, in a new temporary directory `hermes-<tag>-…` the caller removes. */
export function writeTargetsFile(tag: string, targets: unknown[]): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), `hermes-${tag}-`));
  const file = join(dir, 'targets.yaml');
  writeFileSync(file, targetsYaml(targets));
  return { dir, file };
}

/** docker-host-1: every container cAdvisor reports on it, through the Docker API at `socketPath`. */
export const dockerHostTarget = (socketPath: string) => ({
  name: 'docker-host-1',
  match: { container: '.+', instance: 'docker-host-1(:\\d+)?' },
  kind: 'docker',
  docker: { socketPath },
});

/** prod: every alert with a namespace, on the cluster `kubernetes` (kubeconfig, namespaces, …) names. */
export const prodClusterTarget = (kubernetes: Record<string, unknown>) => ({
  name: 'prod',
  match: { namespace: '.+' },
  kind: 'kubernetes',
  kubernetes,
});
