/**
 * The store that holds revocation state or rate limits could not be asked. Requests that depend on it
 * are refused with 503: a token is never let through because the check could not run.
 */
export class StateStoreUnavailableError extends Error {
  override name = 'StateStoreUnavailableError';
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
