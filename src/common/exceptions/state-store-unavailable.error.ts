/**
 * The store that holds revocation state or rate limits could not be asked. Requests that depend on it
 * are refused with 503: a token is never let through because the check could not run.
 */
export class StateStoreUnavailableError extends Error {
  override name = 'StateStoreUnavailableError';
}

/** Runs a Redis command; any failure of it becomes a StateStoreUnavailableError (a 503, fail closed). */
export async function askRedis<T>(command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (error) {
    throw new StateStoreUnavailableError(`Redis: ${(error as Error).message}`);
  }
}

/** ioredis errors that mean "no connection right now" rather than a bad command. */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|enableOfflineQueue|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Socket closed/i.test(
      error.message,
    )
  );
}
