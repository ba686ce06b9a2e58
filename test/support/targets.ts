import { fileURLToPath } from 'node:url';

/** A targets file sending every alert to the `local` target: the policy's own backends, on this machine. */
export const LOCAL_TARGETS = fileURLToPath(new URL('../fixtures/targets-local.yaml', import.meta.url));
