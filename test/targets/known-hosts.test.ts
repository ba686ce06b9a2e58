import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blobType, fingerprint, pinsFor } from '../../shared/remote/known-hosts.js';

function keyBlob(type: string, body: string): Buffer {
  const t = Buffer.from(type);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(t.length);
  return Buffer.concat([length, t, Buffer.from(body)]);
}

const a = keyBlob('ssh-ed25519', 'key-a');
const b = keyBlob('ssh-ed25519', 'key-b');
const b64 = (blob: Buffer) => blob.toString('base64');

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts pins', () => {
  it('finds plain, [host]:port, wildcard and hashed entries, and only those', () => {
    const text = [
      '# comment',
      `api-server-01,10.0.0.1 ssh-ed25519 ${b64(a)}`,
      `[127.0.0.2]:2222 ssh-ed25519 ${b64(b)} host-2`,
      `*.example.net,!bad.example.net ssh-ed25519 ${b64(a)}`,
      `${hashed('[127.0.0.3]:2222')} ssh-ed25519 ${b64(a)}`,
      `@revoked api-server-01 ssh-ed25519 ${b64(b)}`,
      `@cert-authority * ssh-ed25519 ${b64(b)}`,
    ].join('\n');
    expect(pinsFor(text, 'api-server-01').keys.map((k) => k.blob)).toEqual([a]);
    expect(pinsFor(text, 'api-server-01').revoked.map((k) => k.blob)).toEqual([b]);
    expect(pinsFor(text, '[127.0.0.2]:2222').keys.map((k) => k.blob)).toEqual([b]);
    // The port is part of the name: the same address on 22 is another host.
    expect(pinsFor(text, '127.0.0.2').keys).toEqual([]);
    expect(pinsFor(text, 'web.example.net').keys).toHaveLength(1);
    expect(pinsFor(text, 'bad.example.net').keys).toEqual([]);
    expect(pinsFor(text, '[127.0.0.3]:2222').keys.map((k) => k.blob)).toEqual([a]);
    expect(pinsFor(text, '[127.0.0.4]:2222').keys).toEqual([]);
    // A CA line never pins a key by itself.
    expect(pinsFor(text, 'anything').keys).toEqual([]);
  });

  it('names keys the way ssh-keygen -l does', () => {
    expect(blobType(a)).toBe('ssh-ed25519');
    expect(fingerprint(a)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});
