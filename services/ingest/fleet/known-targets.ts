import { z } from 'zod';
import type { Logger } from '../../../shared/logger.js';

const REFRESH_MS = 60_000;
const TIMEOUT_MS = 2_000;

/** Prometheus' /api/v1/query answer for an instant vector. */
const queryReplySchema = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(z.object({ value: z.tuple([z.number(), z.string()]) })),
  }),
});

/** A PromQL string literal: backslashes and double quotes escaped. */
function promString(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`;
}

/**
 * How many targets each Prometheus job has (`count(up{job="…"})`), for the fleet rule minFraction.
 * Answers only from memory, so intake never waits on Prometheus: an unknown job (or a Prometheus
 * that did not answer) is undefined and starts a background refresh, at most once a minute per job.
 */
export class KnownTargets {
  private readonly counts = new Map<string, { count: number | undefined; checkedMs: number }>();
  private readonly refreshing = new Set<string>();

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly options: { refreshMs?: number; timeoutMs?: number } = {},
  ) {}

  count(job: string, nowMs = Date.now()): number | undefined {
    const known = this.counts.get(job);
    if (!known || nowMs - known.checkedMs >= (this.options.refreshMs ?? REFRESH_MS)) this.refresh(job, nowMs);
    return known?.count;
  }

  /** Resolves when every refresh under way has finished (for tests and shutdown). */
  async settled(): Promise<void> {
    while (this.refreshing.size > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  private refresh(job: string, nowMs: number): void {
    if (this.refreshing.has(job)) return;
    this.refreshing.add(job);
    const previous = this.counts.get(job)?.count;
    this.ask(job)
      .then((count) => this.counts.set(job, { count, checkedMs: nowMs }))
      .catch((error: Error) => {
        this.counts.set(job, { count: previous, checkedMs: nowMs });
        this.logger.debug({ job, err: error.message }, 'prometheus target count unavailable');
      })
      .finally(() => this.refreshing.delete(job));
  }

  private async ask(job: string): Promise<number | undefined> {
    const query = `count(up{job=${promString(job)}})`;
    const url = new URL('api/v1/query', this.url.endsWith('/') ? this.url : `${this.url}/`);
    url.searchParams.set('query', query);
    const reply = await fetch(url, { signal: AbortSignal.timeout(this.options.timeoutMs ?? TIMEOUT_MS) });
    if (!reply.ok) throw new Error(`prometheus answered ${reply.status}`);
    const parsed = queryReplySchema.parse(await reply.json());
    const value = Number(parsed.data.result[0]?.value[1]);
    return Number.isFinite(value) && value > 0 ? value : undefined;
  }
}
