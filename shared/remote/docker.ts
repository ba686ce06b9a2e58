import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import Docker from 'dockerode';
import { z } from 'zod';
import { HermesError } from '../errors.js';
import { type LogLevel, levelAtLeast } from '../log-levels.js';

export const dockerConnectionSchema = z.union([
  z.strictObject({ socketPath: z.string().startsWith('/') }),
  z.strictObject({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65_535).default(2376),
    /** File paths of the CA, client certificate and key (mutual TLS); read when the first call connects. */
    tls: z.strictObject({ ca: z.string(), cert: z.string(), key: z.string() }),
  }),
]);
export type DockerConnection = z.infer<typeof dockerConnectionSchema>;

export interface ContainerState {
  name: string;
  image: string;
  /** Docker's word: created, running, restarting, paused, exited, dead, removing. */
  status: string;
  /** Running and not between two runs of a restart loop. */
  running: boolean;
  restarting: boolean;
  restartCount: number;
  oomKilled: boolean;
  /** The last exit's code; null while the container runs or before it first ran. */
  exitCode: number | null;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** healthy, unhealthy, starting; null without a healthcheck. */
  health: string | null;
}

export interface ContainerStats {
  /** As `docker stats` shows it (100 = one CPU busy); null when not computable (e.g. a stopped container). */
  cpuPercent: number | null;
  /** Usage without the inactive page cache, as `docker stats` shows it. */
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
}

/** A container as its engine knows it: a name, full id or unique id prefix all come to this. */
export interface ContainerIdentity {
  id: string;
  name: string;
}

/** Why a Docker call failed, as one line a human can act on (`docker at <endpoint>: …`). */
export class DockerTargetError extends HermesError {}

/** Docker's own rule for container names; anything else is refused before a request is made. */
const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Lines fetched from the end of a container's log before the level filter keeps the last `lines`. */
export const LOG_SCAN_LINES = 5_000;
/** At most this much log text is kept (the newest), whatever the lines' length. */
const LOG_MAX_BYTES = 8 * 1024 * 1024;
const MAX_STOP_TIMEOUT_SECONDS = 300;

/**
 * One Docker Engine (a unix socket, or TCP with mutual TLS) and the few things Hermes does with its
 * containers: read state, stats and logs (triage), restart (executor). Every request has a deadline
 * and every failure is a {@link DockerTargetError}; the CLI is never used.
 */
export class DockerTarget {
  /** `/var/run/docker.sock` or `host:2376`, for messages. */
  readonly where: string;
  private readonly timeoutMs: number;
  private client: Promise<{ docker: Docker; agent: HttpAgent }> | undefined;
  private readonly inFlight = new Set<AbortController>();

  constructor(
    private readonly connection: DockerConnection,
    options: { timeoutMs?: number } = {},
  ) {
    this.where = 'socketPath' in connection ? connection.socketPath : `${connection.host}:${connection.port}`;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Restarts the container (stop with a grace period, then start) and reads its state afterwards. */
  async restart(
    container: string,
    options: { stopTimeoutSeconds?: number } = {},
  ): Promise<{ container: string; restartedAt: string; state: ContainerState }> {
    this.checkName(container);
    const grace = options.stopTimeoutSeconds ?? 10;
    if (!Number.isInteger(grace) || grace < 0 || grace > MAX_STOP_TIMEOUT_SECONDS)
      throw this.fail(`stop timeout must be a whole number of seconds from 0 to ${MAX_STOP_TIMEOUT_SECONDS}`);
    // Docker answers when the container is running again: allow the stop's grace period on top.
    await this.request(
      `restart "${container}"`,
      container,
      (docker, abortSignal) => docker.getContainer(container).restart({ t: grace, abortSignal }),
      this.timeoutMs + grace * 1000,
    );
    const state = await this.state(container);
    return { container, restartedAt: state.startedAt ?? new Date().toISOString(), state };
  }

  /** What the engine resolves `container` to (an exact id, else a name, else a unique id prefix). */
  async identify(container: string): Promise<ContainerIdentity> {
    this.checkName(container);
    const info = await this.inspect(container);
    return { id: info.Id, name: info.Name.replace(/^\//, '') };
  }

  /** The last `lines` log lines (stdout and stderr) at or above `level`, oldest first. */
  async logs(container: string, options: { lines: number; level: LogLevel }): Promise<string[]> {
    this.checkName(container);
    if (!Number.isInteger(options.lines) || options.lines < 1)
      throw this.fail(`log lines must be a positive whole number, not ${options.lines}`);
    const lines = Math.min(options.lines, LOG_SCAN_LINES);
    const info = await this.inspect(container);
    const tail = options.level === 'all' ? lines : LOG_SCAN_LINES;
    const text = await this.request(`logs of "${container}"`, container, async (docker, abortSignal) => {
      const response = await dialStream(docker, {
        path: `/containers/${encodeURIComponent(container)}/logs?`,
        method: 'GET',
        options: { stdout: true, stderr: true, follow: false, timestamps: false, tail },
        isStream: true,
        abortSignal,
        statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
      });
      return readStreamText(response, !info.Config.Tty);
    });
    return text
      .split('\n')
      .map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
      .filter((line) => line.trim() !== '' && levelAtLeast(line, options.level))
      .slice(-lines);
  }

  async state(container: string): Promise<ContainerState> {
    this.checkName(container);
    const info = await this.inspect(container);
    const s = info.State;
    const running = s.Running && !s.Restarting;
    return {
      name: info.Name.replace(/^\//, ''),
      image: info.Config.Image,
      status: s.Status,
      running,
      restarting: s.Restarting,
      restartCount: info.RestartCount,
      oomKilled: s.OOMKilled || (await this.oomEventSeen(info)),
      exitCode: running || s.Status === 'created' || typeof s.ExitCode !== 'number' ? null : s.ExitCode,
      error: s.Error || null,
      startedAt: timestamp(s.StartedAt),
      finishedAt: timestamp(s.FinishedAt),
      health: s.Health?.Status || null,
    };
  }

  /**
   * Whether the engine logged an `oom` event for this run of a container that was SIGKILLed.
   * dockerd sets `State.OOMKilled` only when containerd's OOM event reaches it before the exit
   * event; under load the two arrive the other way round (measured: 4 of 80 OOM kills on one busy
   * host), and the flag stays false while the `oom` event is still logged. The engine keeps only
   * its last 256 events, so on a very busy engine this can miss, as the flag alone did.
   */
  private async oomEventSeen(info: Docker.ContainerInspectInfo): Promise<boolean> {
    const s = info.State;
    if (s.Running || s.ExitCode !== 137) return false;
    const started = Date.parse(s.StartedAt);
    if (!Number.isFinite(started)) return false;
    const since = ((started - EVENT_CLOCK_SLACK_MS) / 1000).toFixed(3);
    const until = (Date.now() / 1000).toFixed(3);
    const name = info.Name.replace(/^\//, '');
    const text = await this.request(`oom events of "${name}"`, name, async (docker, abortSignal) => {
      const response = await dialStream(docker, {
        path: '/events?',
        method: 'GET',
        options: { since, until, filters: JSON.stringify({ container: [info.Id], event: ['oom'] }) },
        isStream: true,
        abortSignal,
        statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' },
      });
      return readStreamText(response, false);
    });
    return text.split('\n').some((line) => isOomEventOf(line, info.Id, started));
  }

  /** One sample (Docker takes two, about a second apart, for the CPU figure). */
  async stats(container: string): Promise<ContainerStats> {
    this.checkName(container);
    const stats = (await this.request(`stats of "${container}"`, container, (docker, abortSignal) =>
      docker.getContainer(container).stats({ stream: false, abortSignal } as { stream: false }),
    )) as unknown as RawStats;
    return {
      cpuPercent: cpuPercent(stats),
      memoryBytes: memoryBytes(stats),
      memoryLimitBytes: positive(stats.memory_stats?.limit),
    };
  }

  /** Aborts requests in flight and drops the connections; a later call connects again. */
  close(): void {
    for (const controller of this.inFlight) controller.abort();
    this.inFlight.clear();
    const client = this.client;
    this.client = undefined;
    void client?.then(({ agent }) => agent.destroy()).catch(() => undefined);
  }

  private inspect(container: string): Promise<Docker.ContainerInspectInfo> {
    return this.request(`inspect "${container}"`, container, (docker, abortSignal) =>
      docker.getContainer(container).inspect({ abortSignal }),
    );
  }

  private checkName(container: string): void {
    if (typeof container !== 'string' || !CONTAINER_NAME.test(container))
      throw this.fail(
        `refused: ${JSON.stringify(String(container).slice(0, 140))} is not a container name (letters, digits, _ . -; at most 128)`,
      );
  }

  private fail(detail: string): DockerTargetError {
    return new DockerTargetError(`docker at ${this.where}: ${detail}`);
  }

  private connect(): Promise<{ docker: Docker; agent: HttpAgent }> {
    if (!this.client) {
      const pending = this.open();
      this.client = pending;
      // A failed connect (unreadable TLS files) is retried by the next call, not cached.
      pending.catch(() => {
        if (this.client === pending) this.client = undefined;
      });
    }
    return this.client;
  }

  private async open(): Promise<{ docker: Docker; agent: HttpAgent }> {
    const c = this.connection;
    if ('socketPath' in c) {
      const agent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
      const options: DockerClientOptions = { socketPath: c.socketPath, protocol: 'http', agent };
      return { docker: newDocker(options), agent };
    }
    // One file at a time, so the first unreadable one is the one named.
    const tls = {} as Record<'ca' | 'cert' | 'key', Buffer>;
    for (const part of ['ca', 'cert', 'key'] as const) {
      tls[part] = await readFile(c.tls[part]).catch((error: NodeJS.ErrnoException) => {
        throw this.fail(`cannot read the TLS ${part} file ${c.tls[part]}: ${error.code ?? error.message}`);
      });
    }
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 8 });
    const options: DockerClientOptions = {
      host: c.host,
      port: c.port,
      protocol: 'https',
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      agent,
    };
    return { docker: newDocker(options), agent };
  }

  /** One API call under a deadline (connecting included); failures become one clear line. */
  private async request<T>(
    what: string,
    container: string,
    call: (docker: Docker, abortSignal: AbortSignal) => Promise<T>,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(this.fail(`${what} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([
        this.connect().then(({ docker }) => call(docker, controller.signal)),
        deadline,
      ]);
    } catch (error) {
      if (error instanceof DockerTargetError) throw error;
      if (controller.signal.aborted) throw this.fail(`${what} aborted: the client was closed`);
      throw this.fail(describe(error, container, what));
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }
}

type DockerClientOptions = Docker.DockerOptions & { agent: HttpAgent };

/**
 * A client for exactly this connection. docker-modem reads DOCKER_HOST when built (and with it
 * DOCKER_CERT_PATH, DOCKER_TLS_VERIFY, DOCKER_CLIENT_TIMEOUT, DOCKER_PATH_PREFIX, reading cert
 * files); a Hermes process's own environment must not redirect or break a target's client. The
 * constructor is synchronous, so nothing else can observe the variable's absence.
 */
function newDocker(options: DockerClientOptions): Docker {
  const saved = process.env.DOCKER_HOST;
  delete process.env.DOCKER_HOST;
  try {
    return new Docker(options);
  } finally {
    if (saved !== undefined) process.env.DOCKER_HOST = saved;
  }
}

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOENT: 'no socket at that path',
  EACCES: 'permission denied on the socket',
  EPERM: 'permission denied on the socket',
  ENOTSOCK: 'that path is not a socket',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
};

function describe(error: unknown, container: string, what: string): string {
  const e = error as {
    statusCode?: number;
    code?: string;
    message?: string;
    json?: { message?: unknown } | null;
  };
  if (e.code && NETWORK_ERRORS[e.code]) return NETWORK_ERRORS[e.code] as string;
  if (typeof e.statusCode === 'number') {
    const daemon = daemonMessage(e);
    if (e.statusCode === 404 && /no such container/i.test(daemon || 'no such container'))
      return `no such container "${container}"`;
    return `${what} failed: ${daemon || `HTTP ${e.statusCode}`} (HTTP ${e.statusCode})`;
  }
  const message = firstLine(e.message ?? String(error));
  if (e.code && /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO/.test(e.code))
    return `TLS failed: ${message} (${e.code})`;
  return `${what} failed: ${message}${e.code && !message.includes(e.code) ? ` (${e.code})` : ''}`;
}

/** The daemon's own sentence from `{"message": …}`, or from docker-modem's `(HTTP code N) reason - cause`. */
function daemonMessage(e: { message?: string; json?: { message?: unknown } | null }): string {
  if (e.json && typeof e.json.message === 'string') return firstLine(e.json.message);
  const match = /^\(HTTP code \d+\) [^-]*- (.*)$/s.exec(e.message ?? '');
  return firstLine(match?.[1] ?? '').trim();
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

function timestamp(value: string | undefined): string | null {
  return value && !value.startsWith('0001-') ? value : null;
}

const dockerEventSchema = z.object({ Action: z.string(), id: z.string(), timeNano: z.number() });

/**
 * dockerd stamps StartedAt after containerd has started the process, so a process that outgrows
 * its limit at once can be OOM-killed a moment "before" its run started. A previous run's OOM kill
 * within this slack of a restart that is itself SIGKILLed would be counted as this run's.
 */
const EVENT_CLOCK_SLACK_MS = 1_000;

/** One line of `/events` output: an `oom` of this container, in this run (see the slack above). */
function isOomEventOf(line: string, id: string, startedMs: number): boolean {
  if (line.trim() === '') return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return false;
  }
  const event = dockerEventSchema.safeParse(parsed);
  return (
    event.success &&
    event.data.Action === 'oom' &&
    event.data.id === id &&
    event.data.timeNano / 1e6 >= startedMs - EVENT_CLOCK_SLACK_MS
  );
}

function positive(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null;
}

function dialStream(
  docker: Docker,
  options: Parameters<Docker['modem']['dial']>[0],
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(options, (error, result) =>
      error ? reject(error) : resolve(result as IncomingMessage),
    );
  });
}

/**
 * A streamed response as text: a logs response of a non-TTY container comes in frames (1 byte
 * stream, 3 zero bytes, a 4-byte big-endian length, the payload); a TTY container's logs and the
 * engine's events are raw. Keeps the newest {@link LOG_MAX_BYTES}.
 */
async function readStreamText(response: IncomingMessage, multiplexed: boolean): Promise<string> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  const keep = (chunk: Buffer) => {
    if (chunk.length === 0) return;
    kept.push(chunk);
    keptBytes += chunk.length;
    while (keptBytes - (kept[0]?.length ?? 0) >= LOG_MAX_BYTES) keptBytes -= (kept.shift() as Buffer).length;
  };
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of response as AsyncIterable<Buffer>) {
    if (!multiplexed) {
      keep(chunk);
      continue;
    }
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let offset = 0;
    while (pending.length - offset >= 8) {
      const length = pending.readUInt32BE(offset + 4);
      if (pending.length - offset < 8 + length) break;
      keep(pending.subarray(offset + 8, offset + 8 + length));
      offset += 8 + length;
    }
    pending = pending.subarray(offset);
  }
  let text = Buffer.concat(kept).toString('utf8');
  if (keptBytes > LOG_MAX_BYTES) text = text.slice(text.indexOf('\n') + 1); // the first line is cut
  return text;
}

interface CpuSample {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null };
  system_cpu_usage?: number;
  online_cpus?: number;
}

interface RawStats {
  cpu_stats?: CpuSample;
  precpu_stats?: CpuSample;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
}

/** `docker stats`' CPU %: the container's share of the host's CPU time between two samples × CPUs. */
function cpuPercent(stats: RawStats): number | null {
  const now = stats.cpu_stats;
  const before = stats.precpu_stats;
  const system = (now?.system_cpu_usage ?? 0) - (before?.system_cpu_usage ?? 0);
  if (!now?.system_cpu_usage || !before?.system_cpu_usage || system <= 0) return null;
  const usage = now.cpu_usage?.total_usage;
  const previous = before.cpu_usage?.total_usage;
  if (typeof usage !== 'number' || typeof previous !== 'number') return null;
  const cpus = now.online_cpus || now.cpu_usage?.percpu_usage?.length || 0;
  if (cpus === 0) return null;
  const delta = usage - previous;
  return delta > 0 ? Math.round((delta / system) * cpus * 100 * 100) / 100 : 0;
}

/** `docker stats`' memory: usage minus inactive page cache (cgroup v1 `total_inactive_file`, v2 `inactive_file`). */
function memoryBytes(stats: RawStats): number | null {
  const memory = stats.memory_stats;
  const usage = memory?.usage;
  if (typeof usage !== 'number') return null;
  const inactive = memory?.stats?.total_inactive_file ?? memory?.stats?.inactive_file;
  return typeof inactive === 'number' && inactive < usage ? usage - inactive : usage;
}

/**
 * One client per Docker target, made on first use and reused (executor and triage alike); a target
 * whose connection a reloaded TARGETS_FILE changed gets a new one.
 */
export class DockerTargets {
  private readonly clients = new Map<string, DockerTarget>();

  get(name: string, connection: DockerConnection): DockerTarget {
    const key = `${name} ${JSON.stringify(connection)}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new DockerTarget(connection);
      this.clients.set(key, client);
    }
    return client;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
