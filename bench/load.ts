import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { Alert } from '../shared/schemas/alertmanager.js';
import { machineCpuMs, percentile } from './services.js';

export interface LoadResult {
  requests: number;
  alerts: number;
  errors: number;
  seconds: number;
  alertsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU ms the load generator itself used per request (it shares the machine with the server). */
  clientCpuMsPerRequest: number;
  /** Share of the machine's cores that were busy while the load ran (0–1). */
  machineBusy: number;
}

/** An alert as Alertmanager holds it; the webhook adds `status`. */
export type BenchAlert = Omit<Alert, 'status'>;

/**
 * `count` distinct alerts over `services` services, and the order to send them in: each batch of
 * `batchSize` is half new alerts and half alerts already sent (what HA peers and repeat_interval do).
 */
export function makeBatches(count: number, batchSize: number, services = 500): BenchAlert[][] {
  const startsAt = new Date().toISOString();
  const alerts: BenchAlert[] = Array.from({ length: count }, (_, i) => ({
    labels: {
      alertname: ['ServiceDown', 'HighLatency', 'QueueBacklog', 'DiskSpaceLow'][i % 4] as string,
      service: `svc-${i % services}`,
      instance: `node-${i % 13}`,
      severity: i % 20 === 0 ? 'critical' : 'warning',
      run: randomBytes(3).toString('hex'),
    },
    annotations: { description: `bench alert ${i}`, summary: 'load test' },
    startsAt,
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.bench/graph',
    fingerprint: randomBytes(8).toString('hex'),
  }));
  const half = batchSize / 2;
  const batches: BenchAlert[][] = [];
  for (let start = 0; start < alerts.length; start += half) {
    const fresh = alerts.slice(start, start + half);
    const repeats = start === 0 ? alerts.slice(0, half) : alerts.slice(start - half, start);
    batches.push([...fresh, ...repeats]);
  }
  return batches;
}

/**
 * Sends the bodies over `connections` keep-alive connections, one request at a time on each.
 * Requests are encoded before the clock starts and responses are read straight off the socket, so the
 * client spends little CPU of the two cores it shares with the server being measured.
 */
export async function runLoad(
  url: string,
  bodies: string[],
  alertsPerBody: number,
  connections: number,
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  const target = new URL(url);
  const head = (length: number) =>
    `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\n` +
    Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('') +
    `Content-Length: ${length}\r\n\r\n`;
  const requests = bodies.map((body) => {
    const payload = Buffer.from(body);
    return Buffer.concat([Buffer.from(head(payload.length)), payload]);
  });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const machineBefore = machineCpuMs();
  const clientBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      let connection = await HttpConnection.open(target);
      while (next < requests.length) {
        const request = requests[next++] as Buffer;
        const t0 = process.hrtime.bigint();
        const status = await connection.send(request).catch(() => 0);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (status < 200 || status >= 300) errors++;
        if (status === 0) connection = await HttpConnection.open(target);
      }
      connection.close();
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const client = process.cpuUsage(clientBefore);
  const machineAfter = machineCpuMs();
  latencies.sort((a, b) => a - b);
  return {
    requests: bodies.length,
    alerts: bodies.length * alertsPerBody,
    errors,
    seconds,
    alertsPerSecond: (bodies.length * alertsPerBody) / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    clientCpuMsPerRequest: (client.user + client.system) / 1000 / bodies.length,
    machineBusy: (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total),
  };
}

/** One keep-alive HTTP/1.1 connection: writes a ready-made request, reads its status and skips its body. */
class HttpConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: ((status: number) => void) | undefined;
  private failed: ((error: Error) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
      this.tryComplete();
    });
    const fail = () => this.failed?.(new Error('connection closed'));
    socket.on('error', fail);
    socket.on('close', fail);
  }

  static open(target: URL): Promise<HttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(Number(target.port), target.hostname, () => resolve(new HttpConnection(socket)));
      socket.once('error', reject);
    });
  }

  send(request: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  /** Completes the pending request once its whole response (Content-Length or chunked) has arrived. */
  private tryComplete(): void {
    const headerEnd = this.buffered.indexOf('\r\n\r\n');
    if (headerEnd < 0 || !this.waiting) return;
    const head = this.buffered.toString('latin1', 0, headerEnd);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    let end: number;
    if (length !== undefined) {
      end = headerEnd + 4 + Number(length);
      if (this.buffered.length < end) return;
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const last = this.buffered.indexOf('\r\n0\r\n\r\n', headerEnd);
      if (last < 0) return;
      end = last + 7;
    } else {
      end = headerEnd + 4;
    }
    this.buffered = this.buffered.subarray(end);
    const resolve = this.waiting;
    this.waiting = undefined;
    this.failed = undefined;
    resolve(status);
  }
}
