import type { Queue } from 'bullmq';
import { randomId } from '../../shared/ids.js';
import type { ActionJob, BreakerResetJob, IncidentCommandJob } from '../../shared/schemas/jobs.js';

const WAIT_MS = 5_000;

/**
 * Asks the executor, which alone writes its own state and the audit chain, to carry out a human's
 * request. Waits a little for it: `done` says whether it has, and `value` is its answer.
 */
async function askExecutor(
  actions: Queue,
  name: string,
  data: unknown,
): Promise<{ done: boolean; value?: unknown }> {
  const job = await actions.add(name, data, {
    jobId: randomId(name.replace('_', '-')),
    removeOnComplete: 100,
    removeOnFail: 100,
  });
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const state = await job.getState();
    if (state === 'completed') {
      const done = await actions.getJob(job.id ?? '');
      return { done: true, value: done?.returnvalue };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { done: false };
}

/** Closes the executor's circuit breaker. */
export async function requestBreakerReset(
  actions: Queue,
  request: BreakerResetJob,
): Promise<{ done: boolean }> {
  const { done } = await askExecutor(actions, 'breaker_reset', request);
  return { done };
}

/** Acknowledges, resolves or re-runs an incident; `value` is the executor's IncidentCommandResult. */
export function requestIncidentCommand(
  actions: Queue,
  request: IncidentCommandJob,
): Promise<{ done: boolean; value?: unknown }> {
  return askExecutor(actions, 'incident_command', request);
}

/** A human's proposed action, decided like the agent's requests; `value` is the executor's ActionOutcome. */
export function requestAction(actions: Queue, job: ActionJob): Promise<{ done: boolean; value?: unknown }> {
  return askExecutor(actions, 'action', job);
}
