import { readFile } from 'node:fs/promises';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { HermesError } from '../errors.js';
import { blobType, fingerprint, knownHostsName, readPins } from './known-hosts.js';

export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  knownHostsPath: string;
  keyPath: string;
  connectTimeoutMs: number;
}

export interface SshRunResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Why nothing ran on the host. `host_key` is a refusal (possibly an attack), the rest are failures. */
export type SshErrorKind = 'host_key' | 'connect' | 'auth' | 'key_file';

export class SshError extends HermesError {
  constructor(
    message: string,
    readonly kind: SshErrorKind,
  ) {
    // Only a connection may work next time; a refused key or host key will not.
    super(message, { retryable: kind === 'connect' });
  }
}

interface Connection {
  client: Client;
  ready: Promise<void>;
  active: number;
  waiters: (() => void)[];
  idle?: NodeJS.Timeout | undefined;
  closed: boolean;
}

export interface SshPoolOptions {
  maxOutputBytes?: number;
  /** A connection unused this long is closed. */
  idleMs?: number;
  /** Commands in flight on one connection (sshd's MaxSessions defaults to 10). */
  channelsPerConnection?: number;
}

/**
 * SSH connections to targets, reused per (user, host, port, key). Host keys are pinned: the server
 * must present a key its known_hosts entry holds, or nothing is sent (never trust on first use).
 * Commands are single words validated by the caller; the target's forced command re-checks them.
 */
export class SshPool {
  private readonly connections = new Map<string, Connection>();
  private readonly maxOutputBytes: number;
  private readonly idleMs: number;
  private readonly channels: number;

  constructor(options: SshPoolOptions = {}) {
    this.maxOutputBytes = options.maxOutputBytes ?? 64 * 1024;
    this.idleMs = options.idleMs ?? 60_000;
    this.channels = options.channelsPerConnection ?? 8;
  }

  async exec(endpoint: SshEndpoint, command: string, timeoutMs: number): Promise<SshRunResult> {
    for (let attempt = 0; ; attempt++) {
      const connection = await this.acquire(endpoint);
      try {
        const channel = await openChannel(connection.client, command);
        return await this.collect(channel, timeoutMs);
      } catch (error) {
        // The channel never opened, so nothing ran: a stale pooled connection gets one fresh try.
        if (!(error instanceof ChannelError) || attempt > 0) throw error;
        this.drop(endpoint, connection);
      } finally {
        this.release(endpoint, connection);
      }
    }
  }

  close(): void {
    for (const connection of this.connections.values()) {
      clearTimeout(connection.idle);
      connection.closed = true;
      connection.client.end();
    }
    this.connections.clear();
  }

  private async acquire(endpoint: SshEndpoint): Promise<Connection> {
    const key = poolKey(endpoint);
    let connection = this.connections.get(key);
    if (!connection || connection.closed) {
      connection = this.connect(endpoint);
      this.connections.set(key, connection);
    }
    clearTimeout(connection.idle);
    const current = connection;
    await current.ready.catch((error: unknown) => {
      this.drop(endpoint, current);
      throw error;
    });
    while (current.active >= this.channels)
      await new Promise<void>((resolve) => current.waiters.push(resolve));
    current.active++;
    return current;
  }

  private release(endpoint: SshEndpoint, connection: Connection): void {
    connection.active--;
    connection.waiters.shift()?.();
    if (connection.active === 0 && !connection.closed) {
      connection.idle = setTimeout(() => this.drop(endpoint, connection), this.idleMs);
      connection.idle.unref();
    }
  }

  private drop(endpoint: SshEndpoint, connection: Connection): void {
    const key = poolKey(endpoint);
    if (this.connections.get(key) === connection) this.connections.delete(key);
    clearTimeout(connection.idle);
    connection.closed = true;
    connection.client.end();
  }

  private connect(endpoint: SshEndpoint): Connection {
    const client = new Client();
    const connection: Connection = {
      client,
      ready: Promise.resolve(),
      active: 0,
      waiters: [],
      closed: false,
    };
    connection.ready = (async () => {
      const where = `${endpoint.user}@${knownHostsName(endpoint.host, endpoint.port)}`;
      const [privateKey, pins] = await Promise.all([
        readFile(endpoint.keyPath).catch((error: NodeJS.ErrnoException) => {
          throw new SshError(
            `cannot read the SSH key ${endpoint.keyPath}: ${error.code ?? error.message}`,
            'key_file',
          );
        }),
        readPins(endpoint.knownHostsPath, endpoint.host, endpoint.port).catch(
          (error: NodeJS.ErrnoException) => {
            throw new SshError(
              `cannot read known_hosts ${endpoint.knownHostsPath}: ${error.code ?? error.message}`,
              'key_file',
            );
          },
        ),
      ]);
      if (pins.keys.length === 0)
        throw new SshError(
          `refused: no pinned host key for ${knownHostsName(endpoint.host, endpoint.port)} in ${endpoint.knownHostsPath} (never trusted on first use; add it after verifying it out of band)`,
          'host_key',
        );
      let hostKeyProblem: string | undefined;
      const config: ConnectConfig = {
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.user,
        privateKey,
        readyTimeout: endpoint.connectTimeoutMs,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 2,
        // Ask for the pinned key types only, so the server presents a key we can compare.
        algorithms: { serverHostKey: [...new Set(pins.keys.map((k) => k.type))] as never },
        hostVerifier: (offered: Buffer) => {
          const seen = `${blobType(offered)} ${fingerprint(offered)}`;
          if (pins.revoked.some((k) => k.blob.equals(offered))) {
            hostKeyProblem = `refused: the host key of ${where} is revoked (${seen})`;
            return false;
          }
          if (pins.keys.some((k) => k.blob.equals(offered))) return true;
          const pinned = pins.keys.map((k) => `${k.type} ${fingerprint(k.blob)}`).join(', ');
          hostKeyProblem = `refused: the host key of ${where} CHANGED: offered ${seen}, pinned ${pinned}`;
          return false;
        },
      };
      await new Promise<void>((resolve, reject) => {
        client.once('ready', () => resolve());
        client.once('error', (error: Error & { level?: string; code?: string }) => {
          if (hostKeyProblem) reject(new SshError(hostKeyProblem, 'host_key'));
          else if (error.level === 'client-authentication')
            reject(
              new SshError(`SSH authentication as ${where} failed with key ${endpoint.keyPath}`, 'auth'),
            );
          else reject(new SshError(`cannot reach ${where} over ssh: ${error.message}`, 'connect'));
        });
        client.connect(config);
      });
      client.on('error', () => {
        connection.closed = true;
      });
      client.on('close', () => {
        connection.closed = true;
      });
    })();
    return connection;
  }

  private collect(channel: ClientChannel, timeoutMs: number): Promise<SshRunResult> {
    return new Promise((resolve) => {
      const stdout = new Capped(this.maxOutputBytes);
      const stderr = new Capped(this.maxOutputBytes);
      let timedOut = false;
      let exit: { code: number | null; signal: string | null } = { code: null, signal: null };
      const timer = setTimeout(() => {
        timedOut = true;
        channel.signal('KILL');
        channel.close();
      }, timeoutMs);
      channel.on('data', (chunk: Buffer) => stdout.push(chunk));
      channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      channel.on('exit', (code: number | null, signal?: string) => {
        exit = { code: typeof code === 'number' ? code : null, signal: signal ?? null };
      });
      channel.on('close', () => {
        clearTimeout(timer);
        resolve({
          exitCode: exit.code,
          signal: exit.signal,
          stdout: stdout.text(),
          stderr: stderr.text(),
          timedOut,
        });
      });
    });
  }
}

class ChannelError extends HermesError {}

function openChannel(client: Client, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      client.exec(command, (error, channel) =>
        error
          ? reject(new ChannelError(`could not open an SSH channel: ${error.message}`))
          : resolve(channel),
      );
    } catch (error) {
      reject(new ChannelError(`could not open an SSH channel: ${(error as Error).message}`));
    }
  });
}

function poolKey(endpoint: SshEndpoint): string {
  return `${endpoint.user}@${endpoint.host}:${endpoint.port}#${endpoint.keyPath}#${endpoint.knownHostsPath}`;
}

class Capped {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    const room = this.max - this.size;
    if (room <= 0) {
      this.dropped += chunk.length;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
    this.dropped += chunk.length - kept.length;
  }
  text(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped > 0 ? `${text}…[truncated ${this.dropped} bytes]` : text;
  }
}
