// @ts-check
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: the compiled app require()s this folder at run time */
'use strict';

const {
  EmbeddedDatabaseUnavailableError,
  ensureFerretDbBinary,
  isGoAvailable,
  startFerretDb,
} = require('./ferretdb-server');

/**
 * The development database the application starts when MONGODB_URI is unset outside production (see
 * src/database/embedded/embedded-database.service.ts, which loads this file from the checkout: it is
 * development tooling and no part of dist/). Order of choice (see README): FerretDB built with Go, then
 * mongodb-memory-server if it is installed.
 *
 * @param {{ cacheDir: string, dataDir: string, database: string, log?: (line: string) => void }} options
 *   log receives the progress of a first-run build as it happens (standard error by default)
 * @returns {Promise<{ uri: string, summary: string, stop: () => Promise<void> }>}
 */
async function startDevelopmentDatabase({ cacheDir, dataDir, database, log = logToStandardError }) {
  if (await isGoAvailable()) {
    const binary = await ensureFerretDbBinary(cacheDir, log);
    const server = await startFerretDb({ binary, dataDir, database, log });
    return {
      uri: server.uri,
      summary: `started embedded FerretDB at ${server.uri} (data in ${server.dataDir})`,
      stop: () => server.stop(),
    };
  }
  return startMongoMemoryServer(database);
}

/** @param {string} database */
async function startMongoMemoryServer(database) {
  /** @type {{ MongoMemoryServer: { create(): Promise<{ getUri(db?: string): string, stop(): Promise<unknown> }> } }} */
  let memoryServerModule;
  try {
    memoryServerModule = require(/** @type {string} */ ('mongodb-memory-server'));
  } catch {
    throw new EmbeddedDatabaseUnavailableError(
      'No MONGODB_URI is set, Go is not installed to build FerretDB, and mongodb-memory-server is not installed. ' +
        'Set MONGODB_URI, install Go, or run `npm install --no-save mongodb-memory-server`.',
    );
  }
  const server = await memoryServerModule.MongoMemoryServer.create();
  const uri = server.getUri(database);
  return {
    uri,
    summary: `started mongodb-memory-server at ${uri} (in-memory, data is not kept)`,
    stop: async () => void (await server.stop()),
  };
}

/** @param {string} line */
function logToStandardError(line) {
  process.stderr.write(`[embedded database] ${line}\n`);
}

module.exports = { startDevelopmentDatabase };
