// @ts-check
'use strict';

/** The development database cannot be built or started; the message says why and what to do. */
class EmbeddedDatabaseUnavailableError extends Error {
  /** @override */
  name = 'EmbeddedDatabaseUnavailableError';
}

module.exports = { EmbeddedDatabaseUnavailableError };
