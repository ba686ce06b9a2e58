/** Errors that mean "Redis is away or was replaced": the sender should retry later (503). */
export function isStorageUnavailable(error: Error): boolean {
  return (
    error instanceof StorageChangedError ||
    /Stream isn't writeable|Connection is closed|ECONNREFUSED|max retries|Command timed out|enableOfflineQueue|ETIMEDOUT|CLUSTERDOWN|LOADING/i.test(
      error.message,
    )
  );
}

/** Redis changed under a request (flushed, failed over): the sender should retry (503). */
export class StorageChangedError extends Error {}
