import { z } from 'zod';
import type { Cli } from '../cli-context.js';

/** `hermes release <incident> <region>`: the changes a fleet incident holds in one region may run. */
export async function releaseHeld({ arg, rest, by, who, call, output }: Cli): Promise<void> {
  const usage = 'usage: hermes release <fleet incident id> <region>';
  const id = z.string({ error: usage }).min(1, usage).parse(arg);
  const region = z.string({ error: usage }).min(1, usage).parse(rest[0]);
  const json = (await call('POST', `/api/incidents/${encodeURIComponent(id)}/release`, { by, region })) as {
    released: number;
    by?: string;
  };
  output(json, () => `released ${json.released} held change(s) in ${region} (by ${json.by ?? who})`);
}

/** `hermes cancel-held <incident> [--reason TEXT]`: every change a fleet incident holds is cancelled. */
export async function cancelHeld({ arg, options, by, who, call, output }: Cli): Promise<void> {
  const usage = 'usage: hermes cancel-held <fleet incident id> [--reason TEXT]';
  const id = z.string({ error: usage }).min(1, usage).parse(arg);
  const json = (await call('POST', `/api/incidents/${encodeURIComponent(id)}/cancel-held`, {
    by,
    ...(options.reason ? { reason: options.reason } : {}),
  })) as { cancelled: number; by?: string };
  output(json, () => `cancelled ${json.cancelled} held change(s) (by ${json.by ?? who})`);
}
