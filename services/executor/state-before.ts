import type { Logger } from '../../shared/logger.js';
import {
  STATE_BEFORE_LINE_CHARS,
  STATE_BEFORE_LINES,
  type StateBefore,
} from '../../shared/schemas/incident.js';
import type { Backend } from './backends.js';

/** A state read must not hold up the fix it precedes for long. */
const READ_DEADLINE_MS = 5_000;

/**
 * The target's state right before a restart, bounded for the incident record; a read that fails
 * or is slow says why and the restart goes ahead (the evidence helps, it is not a precondition).
 */
export async function captureStateBefore(backend: Backend, logger: Logger): Promise<StateBefore | undefined> {
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
    const state = await Promise.race([backend.stateBefore(), deadline]);
    return {
      at,
      ...state,
      status: state.status?.slice(0, 100) ?? null,
      errorLines: state.errorLines
        .slice(-STATE_BEFORE_LINES)
        .map((line) => line.slice(0, STATE_BEFORE_LINE_CHARS)),
    };
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
