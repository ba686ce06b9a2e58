import type { Logger } from '../../shared/logger.js';
import {
  STATE_BEFORE_LINE_CHARS,
  STATE_BEFORE_LINES,
  type StateBefore,
} from '../../shared/schemas/incident.js';
import type { BackendResult, TargetState } from '../../shared/targets/drivers/driver.js';
import type { Backend } from './backends.js';

/** A state read must not hold up the fix it precedes for long. */
const READ_DEADLINE_MS = 5_000;

/**
 * Runs a backend, keeping the target's state from right before (restart count, last exit, ERROR
 * lines: what a restart resets). The state is read first where the backend can (Docker), or is
 * what the run itself reported (the ssh helper's restart). A read that fails or is slow says why
 * and the run goes ahead: the evidence helps, it is not a precondition.
 */
export async function runWithStateBefore(
  backend: Backend,
  args: Record<string, unknown>,
  logger: Logger,
): Promise<{ result: BackendResult; before?: StateBefore }> {
  const read = await readState(backend, logger);
  let result: BackendResult;
  try {
    result = await backend.run(args);
  } catch (error) {
    result = { ok: false, decision: 'failed', reason: (error as Error).message };
  }
  const before = read ?? (result.before && bounded(result.before, new Date().toISOString()));
  return before ? { result, before } : { result };
}

async function readState(backend: Backend, logger: Logger): Promise<StateBefore | undefined> {
  if (!backend.stateBefore) return undefined;
  const at = new Date().toISOString();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${READ_DEADLINE_MS / 1000} s`)),
      READ_DEADLINE_MS,
    );
  });
  try {
    return bounded(await Promise.race([backend.stateBefore(), deadline]), at);
  } catch (error) {
    const reason = (error as Error).message.slice(0, 500);
    logger.warn({ reason }, 'the state before a restart could not be read');
    return {
      at,
      status: null,
      restartCount: null,
      exitCode: null,
      oomKilled: null,
      errorLines: [],
      unreadable: reason,
    };
  } finally {
    clearTimeout(timer);
  }
}

function bounded(state: TargetState, at: string): StateBefore {
  return {
    at,
    ...state,
    status: state.status?.slice(0, 100) ?? null,
    errorLines: state.errorLines
      .slice(-STATE_BEFORE_LINES)
      .map((line) => line.slice(0, STATE_BEFORE_LINE_CHARS)),
  };
}
