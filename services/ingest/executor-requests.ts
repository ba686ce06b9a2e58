import { z } from 'zod';
import type { ExecutorClient } from '../../shared/executor-client.js';
import { randomId } from '../../shared/ids.js';
import type {
  ActionJob,
  BreakerResetJob,
  FleetCancelJob,
  FleetReleaseJob,
  IncidentCommandJob,
  LearnedClearJob,
} from '../../shared/schemas/jobs.js';

const WAIT_MS = 5_000;

/**
 * Asks the executor, which alone writes its own state and the audit chain, to carry out a human's
 * request. Waits a little for it: `done` says whether it has, and `value` is its answer.
 */
async function askExecutor(
  executor: ExecutorClient,
  name: string,
  data: unknown,
): Promise<{ done: boolean; value?: unknown }> {
  const answer = await executor.ask(name, data, {
    jobId: randomId(name.replace('_', '-')),
    timeoutMs: WAIT_MS,
    removeOnComplete: 100,
    removeOnFail: 100,
  });
  return answer.done ? answer : { done: false };
}

/** Closes the executor's circuit breaker. */
export async function requestBreakerReset(
  executor: ExecutorClient,
  request: BreakerResetJob,
): Promise<{ done: boolean }> {
  const { done } = await askExecutor(executor, 'breaker_reset', request);
  return { done };
}

const learnedClearAnswerSchema = z.object({ cleared: z.boolean(), reason: z.string().optional() });

/** Clears a learned rule; `value` says whether one was in force. */
export async function requestLearnedClear(
  executor: ExecutorClient,
  request: LearnedClearJob,
): Promise<{ done: boolean; value?: { cleared: boolean; reason?: string } }> {
  const { done, value } = await askExecutor(executor, 'learned_clear', request);
  const answer = learnedClearAnswerSchema.safeParse(value);
  return { done, ...(answer.success ? { value: answer.data } : {}) };
}

/** Acknowledges, resolves or re-runs an incident; `value` is the executor's IncidentCommandResult. */
export function requestIncidentCommand(
  executor: ExecutorClient,
  request: IncidentCommandJob,
): Promise<{ done: boolean; value?: unknown }> {
  return askExecutor(executor, 'incident_command', request);
}

/** A human's proposed action, decided like the agent's requests; `value` is the executor's ActionOutcome. */
export function requestAction(
  executor: ExecutorClient,
  job: ActionJob,
): Promise<{ done: boolean; value?: unknown }> {
  return askExecutor(executor, 'action', job);
}

const releasedSchema = z.object({ released: z.number().int().min(0) });
const cancelledSchema = z.object({ cancelled: z.number().int().min(0) });

/** What came of asking the executor about a fleet's held changes: its answer, or why none came. */
export type FleetAnswer<T> = { done: true; value: T } | { done: false; timedOut: boolean; error: string };

async function askAboutFleet<T>(
  executor: ExecutorClient,
  name: 'fleet_release' | 'fleet_cancel',
  data: FleetReleaseJob | FleetCancelJob,
  answer: z.ZodType<T>,
): Promise<FleetAnswer<T>> {
  const reply = await executor.ask(name, data, {
    jobId: randomId(name.replace('_', '-')),
    timeoutMs: WAIT_MS,
    removeOnComplete: 100,
    removeOnFail: 100,
  });
  if (!reply.done) return reply;
  const parsed = answer.safeParse(reply.value);
  return parsed.success
    ? { done: true, value: parsed.data }
    : { done: false, timedOut: false, error: 'the executor answered something else than expected' };
}

/** Releases the changes a fleet incident holds in one region; the executor says how many. */
export function requestFleetRelease(executor: ExecutorClient, request: FleetReleaseJob) {
  return askAboutFleet(executor, 'fleet_release', request, releasedSchema);
}

/** Cancels every change a fleet incident holds; the executor says how many. */
export function requestFleetCancel(executor: ExecutorClient, request: FleetCancelJob) {
  return askAboutFleet(executor, 'fleet_cancel', request, cancelledSchema);
}
