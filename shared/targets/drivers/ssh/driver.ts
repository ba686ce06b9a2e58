import { HOST_PATTERN } from '../../../names.js';
import { remoteWrites, type TargetDriver } from '../driver.js';
import { serviceOf } from '../resource.js';
import { render } from '../template.js';
import { describeSsh, describeSshShort } from './describe.js';
import { sshReads } from './reads.js';
import type { SshSettings } from './settings.js';
import { sshWrites } from './writes.js';

type SshTarget = { name: string; resource?: string | undefined; ssh: SshSettings };

/** A host reached over SSH, where a forced-command helper (deploy/remote/hermes-remote) runs each verb. */
export const sshDriver: TargetDriver<SshTarget> = {
  place(config, alert) {
    const host = render(config.ssh.host, alert);
    if (!HOST_PATTERN.test(host)) throw new Error(`host ${JSON.stringify(host)} is not a host name`);
    return { host, resource: serviceOf(config, alert) };
  },
  describe: describeSsh,
  describeShort: describeSshShort,
  reads: (config, context) => sshReads(config.ssh, context),
  writes: remoteWrites('ssh', (config, placement, operation, context) =>
    sshWrites(config.ssh, placement, operation, context),
  ),
};
