import type { Redis } from 'ioredis';

/** One kind of round trip, named by the first command sent when the connection was idle. */
export interface RoundTripStep {
  label: string;
  trips: number;
  ms: number;
}

interface SentCommand {
  name: string;
  args: unknown[];
  promise: Promise<unknown>;
}

/**
 * Counts the round trips a connection makes: each time it sends a command while no reply is awaited,
 * its caller will wait for Redis once more. Commands sent while others are in flight (a pipeline, a
 * MULTI, reads asked at once with Promise.all) join that round trip; a NOSCRIPT retry is one more.
 * Each round trip is named by its first command and its first key (parts with digits, ids, replaced by `{id}`; a MULTI by
 * the command it wraps first), and timed from that command until no reply is awaited any more.
 */
export class RoundTrips {
  trips = 0;
  commands = 0;
  private readonly steps = new Map<string, RoundTripStep>();
  private current: { label: string; named: boolean; started: number } | null = null;

  constructor(redis: Redis) {
    const queue = (redis as unknown as { commandQueue: { length: number } }).commandQueue;
    const send = redis.sendCommand.bind(redis) as (command: SentCommand, ...rest: unknown[]) => unknown;
    const ended = () => {
      if (!this.current || queue.length > 0) return;
      const { label, started } = this.current;
      const step = this.steps.get(label) ?? { label, trips: 0, ms: 0 };
      this.steps.set(label, step);
      step.trips += 1;
      step.ms += performance.now() - started;
      this.current = null;
    };
    (redis as unknown as { sendCommand: typeof send }).sendCommand = (command, ...rest) => {
      this.commands += 1;
      if (queue.length === 0 && !this.current) {
        this.trips += 1;
        const label = labelOf(command);
        this.current = { label, named: label !== 'multi', started: performance.now() };
      } else if (this.current && !this.current.named) {
        // A MULTI is named by what it wraps.
        this.current = { ...this.current, label: `multi ${labelOf(command)}`, named: true };
      }
      const sent = send(command, ...rest);
      command.promise.then(ended, ended);
      return sent;
    };
  }

  reset(): void {
    this.trips = 0;
    this.commands = 0;
    this.steps.clear();
  }

  /** Round trips by kind, most frequent first. */
  byStep(): RoundTripStep[] {
    return [...this.steps.values()].sort((a, b) => b.trips - a.trips || b.ms - a.ms);
  }
}

function labelOf(command: SentCommand): string {
  const name = command.name.toLowerCase();
  const keyAt = name === 'evalsha' || name === 'eval' ? 2 : 0;
  const key = String(command.args[keyAt] ?? '')
    .replace(/^[^:]*:/, '')
    .split(/([:|])/)
    .map((part) => (/\d/.test(part) ? '{id}' : part))
    .join('');
  return `${name} ${key}`.trim();
}
