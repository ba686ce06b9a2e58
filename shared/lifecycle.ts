import type { Logger } from './logger.js';

/** Starts a service and closes it gracefully on SIGINT/SIGTERM (a second signal forces exit); SIGHUP only reloads. */
export async function runUntilSignal(
  logger: Logger,
  start: () => Promise<{ close(): Promise<void> }>,
): Promise<void> {
  let handle: { close(): Promise<void> };
  try {
    handle = await start();
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    process.exit(1);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'forced exit');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await handle.close();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // Never a shutdown: SIGHUP asks for the config files to be read again (shared/config-reload.ts),
  // and a service that follows none must not die of it either.
  process.on('SIGHUP', () => logger.info({ signal: 'SIGHUP' }, 'config files that reload read again'));
}
