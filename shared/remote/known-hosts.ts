import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** A pinned host key: its type (`ssh-ed25519`, …) and its wire-format blob. */
export interface PinnedKey {
  type: string;
  blob: Buffer;
}

export interface HostPins {
  keys: PinnedKey[];
  revoked: PinnedKey[];
}

/** OpenSSH's fingerprint of a key blob: `SHA256:` and unpadded base64. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside a wire-format key blob (a length-prefixed string). */
export function blobType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` elsewhere. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * The keys a known_hosts file pins for a host: plain and hashed (`|1|salt|hash`) names, `[host]:port`,
 * `*`/`?` wildcards and `!` negations, `@revoked` markers. `@cert-authority` lines are not supported
 * and are ignored, so a host only trusted through a CA has no pin and is refused.
 */
export async function readPins(path: string, host: string, port: number): Promise<HostPins> {
  const text = await readFile(path, 'utf8');
  return pinsFor(text, knownHostsName(host, port));
}

export function pinsFor(text: string, name: string): HostPins {
  const pins: HostPins = { keys: [], revoked: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]?.startsWith('@')) marker = fields.shift();
    const [names, type, base64] = fields;
    if (!names || !type || !base64 || marker === '@cert-authority') continue;
    if (!namesMatch(names, name)) continue;
    const key = { type, blob: Buffer.from(base64, 'base64') };
    (marker === '@revoked' ? pins.revoked : pins.keys).push(key);
  }
  return pins;
}

function namesMatch(list: string, name: string): boolean {
  if (list.startsWith('|1|')) return hashedMatch(list, name);
  let matched = false;
  for (const pattern of list.split(',')) {
    const negated = pattern.startsWith('!');
    if (!wildcard(negated ? pattern.slice(1) : pattern).test(name.toLowerCase())) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function hashedMatch(entry: string, name: string): boolean {
  const [, , salt, hash] = entry.split('|');
  if (!salt || !hash) return false;
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return digest === hash;
}

function wildcard(pattern: string): RegExp {
  const source = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}
