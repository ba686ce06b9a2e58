import type { Logger } from './logger.js';

/** Runs `task` every `intervalMs`, one run at a time; a failed run is logged as `what failed`. */
export function startPeriodic(
  task: () => Promise<unknown>,
  intervalMs: number,
  logger: Logger,
  what: string,
) {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running
      .then(task)
      .catch((error: Error) => logger.warn({ err: error.message }, `${what} failed`));
  }, intervalMs);
  return {
    /** Stops the timer and waits for a running task. */
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
