import type { DockerConnection } from '../../../remote/docker.js';
import { remoteWrites, type TargetDriver } from '../driver.js';
import { safeName } from '../resource.js';
import { render } from '../template.js';
import { describeDocker, describeDockerShort } from './describe.js';
import { dockerReads } from './reads.js';
import { dockerWrites } from './writes.js';

type DockerTargetConfig = {
  name: string;
  resource?: string | undefined;
  container?: string | undefined;
  docker: DockerConnection;
};

/** A Docker Engine (unix socket or TCP with mutual TLS), spoken to through its API. */
export const dockerDriver: TargetDriver<DockerTargetConfig> = {
  place(config, alert) {
    const resource = config.resource
      ? render(config.resource, alert)
      : render(config.container ?? '{{labels.container}}', alert, false) ||
        render('{{labels.name}}', alert, false) ||
        null;
    return { host: config.name, resource: safeName(resource) };
  },
  describe: describeDocker,
  describeShort: describeDockerShort,
  reads: (config, context) => dockerReads(context.clients.docker.get(config.name, config.docker)),
  writes: remoteWrites('docker', (config, placement, operation, context) =>
    dockerWrites(context.clients.docker.get(config.name, config.docker), placement, operation),
  ),
};
