import type { JobsOptions, Queue, QueueEvents } from 'bullmq';

/** What came of asking the executor: its answer, or why none came. */
export type ExecutorAnswer =
  | { done: true; value: unknown }
  | { done: false; timedOut: boolean; error: string };

/**
 * Asks the executor (which alone writes its own state and the audit chain) by adding a job to its
 * queue, and waits for that job's answer through the queue's events: no polling. Used by triage for
 * agent actions and by ingest for humans' requests.
 */
export class ExecutorClient {
  constructor(
    private readonly queue: Queue,
    private readonly events: QueueEvents,
  ) {}

  /**
   * Adds `name` with `data` as job `jobId` and waits up to `timeoutMs` for it to finish. Not `done`
   * means no answer came (time ran out, or the job failed or was lost): the executor may still act.
   */
  async ask(
    name: string,
    data: unknown,
    options: { jobId: string; timeoutMs: number } & Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'>,
  ): Promise<ExecutorAnswer> {
    const { timeoutMs, ...jobOptions } = options;
    const job = await this.queue.add(name, data, jobOptions);
    try {
      return { done: true, value: await job.waitUntilFinished(this.events, timeoutMs) };
    } catch (error) {
      const message = (error as Error).message;
      return { done: false, timedOut: /timed out/i.test(message), error: message };
    }
  }
}
