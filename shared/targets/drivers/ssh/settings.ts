import { z } from 'zod';
import { seconds, template } from '../template.js';

export const sshSettingsSchema = z.strictObject({
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
export type SshSettings = z.infer<typeof sshSettingsSchema>;
