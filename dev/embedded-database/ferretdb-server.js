// @ts-check
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: the compiled app require()s this folder at run time */
'use strict';

const { spawn } = require('node:child_process');
const { mkdir } = require('node:fs/promises');
const { connect, createServer } = require('node:net');
const { FERRETDB_VERSION, FerretDbBuildInterruptedError, ensureFerretDbBinary, isGoAvailable } = require('./build');
const { EmbeddedDatabaseUnavailableError } = require('./errors');
const { lockDataFolder } = require('./process-record');

/**
 * FerretDB is a MongoDB-wire-compatible server written in Go that stores its data in SQLite. It is the
 * development and test database on machines that can reach the Go module proxy but not MongoDB's
 * download site. Used by the application when MONGODB_URI is unset outside production (through
 * ./index.js), by the test setup, and by the bench, soak and fuzz tools. Development tooling: it is not
 * part of the build (dist/).
 *
 * This file is the entry point (the app, the tests and the bench, soak and fuzz tools require it):
 * starting a FerretDB is here, building one is in ./build.js, and the data folder's record of the
 * FerretDB serving it in ./process-record.js.
 */

/** @typedef {(message: string) => void} Log */

/** @returns {Promise<number>} */
async function findFreePort(host = '127.0.0.1') {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Whether something accepts TCP connections there (the servers we start are ready when it does).
 * @param {string} host
 * @param {number} port
 * @returns {Promise<boolean>}
 */
function canConnect(host, port) {
  return new Promise((resolveConnect) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once('error', () => resolveConnect(false));
  });
}

/**
 * @typedef {object} RunningFerretDb
 * @property {string} uri
 * @property {number} port
 * @property {number} pid
 * @property {string} dataDir
 * @property {() => Promise<void>} stop
 */

/**
 * @typedef {object} StartFerretDbOptions
 * @property {string} binary
 * @property {string} dataDir
 * @property {number} [port]
 * @property {string} [host]
 * @property {string} [database] Database name put in the returned URI.
 * @property {number} [startTimeoutMs]
 * @property {Log} [log] where a stale FerretDB being stopped is reported (standard error by default)
 */

/**
 * Starts FerretDB on a data folder, which it locks first (see lockDataFolder in ./process-record.js):
 * refused when another running process holds it; one a killed process left running there is stopped
 * first. It is stopped, and the folder unlocked, by `stop()`; it is killed when this process exits.
 * @param {StartFerretDbOptions} options
 * @returns {Promise<RunningFerretDb>}
 */
async function startFerretDb(options) {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await findFreePort(host));
  const log = options.log ?? ((message) => process.stderr.write(`[embedded database] ${message}\n`));
  await mkdir(options.dataDir, { recursive: true });
  const lock = await lockDataFolder(options.dataDir, log);
  const child = spawn(
    options.binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${options.dataDir}/`,
      `--state-dir=${options.dataDir}`,
      `--listen-addr=${host}:${port}`,
      // Without this every instance binds 127.0.0.1:8088 and parallel runs collide.
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keepTail = (/** @type {Buffer} */ chunk) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', keepTail);
  child.stderr.on('data', keepTail);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let exited = false;
  /** @type {Promise<void>} */
  const exitPromise = new Promise((resolveExit) =>
    child.once('exit', () => {
      exited = true;
      process.removeListener('exit', killOnExit);
      resolveExit();
    }),
  );
  if (child.pid === undefined) {
    const error = await new Promise((resolveError) => child.once('error', resolveError));
    await lock.release();
    throw new EmbeddedDatabaseUnavailableError(`FerretDB (${options.binary}) could not be started: ${error}`);
  }
  const pid = child.pid;
  try {
    await lock.recordFerretDb(pid);
    const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
    while (!(await canConnect(host, port))) {
      if (exited || Date.now() > deadline) {
        throw new EmbeddedDatabaseUnavailableError(
          `FerretDB did not start on ${host}:${port}${exited ? ` (exit code ${child.exitCode})` : ''}: ${output.trim()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    child.kill('SIGKILL');
    await exitPromise;
    await lock.release();
    throw error;
  }

  return {
    uri: `mongodb://${host}:${port}/${options.database ?? ''}`,
    port,
    pid,
    dataDir: options.dataDir,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitPromise;
        clearTimeout(timer);
      }
      await lock.release();
    },
  };
}

module.exports = {
  FERRETDB_VERSION,
  EmbeddedDatabaseUnavailableError,
  FerretDbBuildInterruptedError,
  canConnect,
  ensureFerretDbBinary,
  findFreePort,
  isGoAvailable,
  startFerretDb,
};
