/**
 * V8 flags ingest runs with, wherever it is started (npm scripts, `npm start`, the Dockerfile,
 * docker-compose, the benchmarks; a test keeps them in step). Requests waiting on Redis keep their
 * parsed alerts alive across young-generation collections; a 32 MiB semi-space (16 by default)
 * collects half as often and cut ingest's CPU per 100-alert webhook by about 7 % in the bench
 * (64 MiB was slower again). Ingest shares its cores with Redis: collecting on the main thread only
 * (rather than with helper threads that take turns on those cores) cut its CPU per webhook by about
 * 15 % and raised its throughput by about 11 % in the bench on 2 cores, for somewhat longer pauses.
 */
export const INGEST_NODE_FLAGS = ['--max-semi-space-size=32', '--single-threaded-gc'];

/** The V8 flags a service's process starts with. */
export function nodeFlagsFor(service: string): string[] {
  return service === 'ingest' ? INGEST_NODE_FLAGS : [];
}
