// @ts-check
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: the compiled app require()s this folder at run time */
'use strict';

const { execFile, spawn } = require('node:child_process');
const { constants } = require('node:fs');
const {
  access,
  chmod,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} = require('node:fs/promises');
const { connect, createServer } = require('node:net');
const { basename, join } = require('node:path');
const { createInterface } = require('node:readline');
const { promisify } = require('node:util');
const { applyFerretDbSourcePatch, FERRETDB_PATCH_LEVEL } = require('./ferretdb-source-patch');

/**
 * FerretDB is a MongoDB-wire-compatible server written in Go that stores its data in SQLite. It is the
 * development and test database on machines that can reach the Go module proxy but not MongoDB's
 * download site. Used by the application when MONGODB_URI is unset outside production (through
 * ./index.js), by the test setup, and by the bench, soak and fuzz tools. Development tooling: it is not
 * part of the build (dist/).
 */
const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
/** Temporary build folders, inside the cache folder (so that the finished binary is renamed, not copied). */
const BUILD_FOLDER_PREFIX = 'ferretdb-build-';
/** A build folder older than this was left by a process killed mid-build: removed by the next build. */
const STALE_BUILD_FOLDER_MS = 3_600_000;
/** Written into the data folder while a FerretDB serves it (see stopStaleFerretDb). */
const PID_FILE = 'ferretdb.pid';
/**
 * Signals that stop a build: the go processes are killed and the temporary folder is removed first.
 * Not SIGHUP: a listener for it would override the ignore that `nohup` sets up.
 */
const BUILD_INTERRUPTING_SIGNALS = /** @type {const} */ (['SIGINT', 'SIGTERM']);

const execFileAsync = promisify(execFile);

/** @typedef {(message: string) => void} Log */

class EmbeddedDatabaseUnavailableError extends Error {
  /** @override */
  name = 'EmbeddedDatabaseUnavailableError';
}

class FerretDbBuildInterruptedError extends Error {
  /** @override */
  name = 'FerretDbBuildInterruptedError';
  /** @param {NodeJS.Signals} signal */
  constructor(signal) {
    super(`FerretDB build interrupted by ${signal}: go stopped, temporary folder removed`);
    this.signal = signal;
  }
}

/** @param {string} path */
async function isExecutable(path) {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function isGoAvailable() {
  try {
    await execFileAsync('go', ['version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** @param {number} ms */
function formatDuration(ms) {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** Sends a signal to a process group (go and the compilers it runs); no error when it is gone. */
function signalGroup(/** @type {number} */ pgid, /** @type {NodeJS.Signals | 0} */ signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** The go processes of one build, so that a signal can stop them. */
class BuildRun {
  /** @type {Set<number>} process groups of the go commands running */
  groups = new Set();
  /** @type {NodeJS.Signals | undefined} */
  interruptedBy;

  /** @param {NodeJS.Signals} signal */
  interrupt(signal) {
    if (this.interruptedBy) {
      // A second Ctrl-C: no more patience.
      for (const group of this.groups) signalGroup(group, 'SIGKILL');
      return;
    }
    this.interruptedBy = signal;
    for (const group of this.groups) signalGroup(group, 'SIGTERM');
  }

  throwIfInterrupted() {
    if (this.interruptedBy) throw new FerretDbBuildInterruptedError(this.interruptedBy);
  }

  /**
   * Runs go in a process group of its own, so that go and the compilers it started are stopped
   * together. Its standard error is handed over line by line; its standard output is returned.
   * @param {string[]} args
   * @param {{ cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number, onLine?: (line: string) => void }} options
   * @returns {Promise<string>}
   */
  go(args, { cwd, env, timeoutMs, onLine }) {
    this.throwIfInterrupted();
    return new Promise((resolveRun, rejectRun) => {
      const child = spawn('go', args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      const pgid = /** @type {number} */ (child.pid);
      this.groups.add(pgid);
      let stdout = '';
      let tail = '';
      child.stdout.on('data', (/** @type {Buffer} */ chunk) => (stdout += chunk.toString()));
      createInterface({ input: child.stderr }).on('line', (line) => {
        tail = `${tail}${line}\n`.slice(-4000);
        onLine?.(line);
      });
      const timer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        this.groups.delete(pgid);
        rejectRun(error);
      });
      child.once('close', async (code, signal) => {
        clearTimeout(timer);
        if (this.interruptedBy) {
          // go is gone; compilers it started may not be yet.
          await waitForGroupToEnd(pgid, 3000);
          this.groups.delete(pgid);
          rejectRun(new FerretDbBuildInterruptedError(this.interruptedBy));
          return;
        }
        this.groups.delete(pgid);
        if (code === 0) resolveRun(stdout);
        else
          rejectRun(
            new EmbeddedDatabaseUnavailableError(
              `go ${args.join(' ')} failed (${signal ?? `exit code ${code}`}):\n${tail.trim()}`,
            ),
          );
      });
    });
  }
}

/** Waits until no process of the group is left, killing it once the grace period has passed. */
async function waitForGroupToEnd(/** @type {number} */ pgid, /** @type {number} */ graceMs) {
  const deadline = Date.now() + graceMs;
  while (signalGroup(pgid, 0)) {
    if (Date.now() > deadline) signalGroup(pgid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Build folders left by a process killed (SIGKILL) mid-build. */
async function removeStaleBuildFolders(/** @type {string} */ cacheDir) {
  for (const name of await readdir(cacheDir).catch(() => /** @type {string[]} */ ([]))) {
    if (!name.startsWith(BUILD_FOLDER_PREFIX)) continue;
    const path = join(cacheDir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > STALE_BUILD_FOLDER_MS) await rm(path, { recursive: true, force: true });
  }
}

/**
 * Returns the path of a FerretDB binary, building it with Go on first use, with its progress logged as
 * it goes. SIGINT or SIGTERM during the build stops it: the go processes are killed, the
 * temporary folder is removed, and the signal then ends the process as it would have (when nothing
 * else listens for it; otherwise a FerretDbBuildInterruptedError is thrown).
 *
 * A plain `go install .../cmd/ferretdb@v1.24.2` builds a binary that panics at start-up, because
 * FerretDB's release builds embed a generated `build/version/version.txt` that the module zip does
 * not contain. So the module source is fetched through the Go module proxy, the file is written the
 * way FerretDB's own docs describe, a small patch is applied (ferretdb-source-patch.js: lookups by
 * indexed fields use their index), and `cmd/ferretdb` is built from that copy. The cache folder names
 * the patch level, so a binary built without the current patch is never reused.
 *
 * @param {string} cacheDir where built tools are kept (~/.cache/secure-logout-jwt; $XDG_CACHE_HOME moves it)
 * @param {Log} log receives each progress line as soon as it happens
 * @returns {Promise<string>}
 */
async function ensureFerretDbBinary(cacheDir, log) {
  const build = `${FERRETDB_VERSION}-p${FERRETDB_PATCH_LEVEL}`;
  const installDir = join(cacheDir, `ferretdb-${build}`);
  const binary = join(installDir, 'ferretdb');
  if (await isExecutable(binary)) return binary;
  if (!(await isGoAvailable())) {
    throw new EmbeddedDatabaseUnavailableError(
      'No MONGODB_URI is set and Go is not installed, so the embedded FerretDB cannot be built. ' +
        'Set MONGODB_URI to a MongoDB server, install Go, or `npm install --no-save mongodb-memory-server` ' +
        'on a machine that can download MongoDB.',
    );
  }

  const run = new BuildRun();
  /** @param {NodeJS.Signals} signal */
  const onSignal = (signal) => {
    log(`${signal}: stopping the FerretDB build...`);
    run.interrupt(signal);
  };
  for (const signal of BUILD_INTERRUPTING_SIGNALS) process.on(signal, onSignal);
  try {
    await buildFerretDb({ run, cacheDir, installDir, binary, build, log });
    return binary;
  } finally {
    for (const signal of BUILD_INTERRUPTING_SIGNALS) process.removeListener(signal, onSignal);
    if (run.interruptedBy) {
      log(`FerretDB build stopped (${run.interruptedBy}): go processes ended, temporary folder removed`);
      // Nobody else listens: the signal ends the process, as it would have without the build.
      if (process.listenerCount(run.interruptedBy) === 0) process.kill(process.pid, run.interruptedBy);
    }
  }
}

/**
 * @param {{ run: BuildRun, cacheDir: string, installDir: string, binary: string, build: string, log: Log }} options
 */
async function buildFerretDb({ run, cacheDir, installDir, binary, build, log }) {
  const startedAt = Date.now();
  log(
    `building FerretDB ${FERRETDB_VERSION} (patch level ${FERRETDB_PATCH_LEVEL}) from source ` +
      `(first run only, about 2 min; Ctrl-C stops it) into ${installDir}`,
  );
  await mkdir(cacheDir, { recursive: true });
  await removeStaleBuildFolders(cacheDir);
  const workDir = await mkdtemp(join(cacheDir, BUILD_FOLDER_PREFIX));
  try {
    // go's own temporary files go into the build folder too, so that removing it leaves nothing behind.
    const goTmp = join(workDir, 'go-tmp');
    await mkdir(goTmp);
    const env = { ...process.env, GOTMPDIR: goTmp };

    log(`[1/3] fetching the ${FERRETDB_MODULE}@${FERRETDB_VERSION} module source (go mod download)`);
    const stdout = await withHeartbeat(log, 'fetching', () =>
      run.go(['mod', 'download', '-json', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`], {
        cwd: workDir,
        env,
        timeoutMs: 10 * 60_000,
      }),
    );
    const moduleDir = /** @type {{ Dir?: string }} */ (JSON.parse(stdout)).Dir;
    if (!moduleDir) throw new EmbeddedDatabaseUnavailableError(`go mod download gave no source folder for FerretDB`);

    log('[2/3] patching a copy of the source (version file; lookups by indexed fields use their index)');
    run.throwIfInterrupted();
    const sourceDir = join(workDir, 'src');
    await cp(moduleDir, sourceDir, { recursive: true });
    // The module cache is read-only; the copy keeps those modes.
    await chmod(join(sourceDir, 'build', 'version'), 0o755);
    await writeFile(join(sourceDir, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    // Lookups by indexed fields use their index; query results never depend on it (see the patch module).
    await applyFerretDbSourcePatch(sourceDir);

    log('[3/3] compiling cmd/ferretdb (go build; its dependencies are downloaded first if Go has not got them)');
    const counts = { packages: 0 };
    const builtBinary = join(workDir, 'ferretdb');
    await withHeartbeat(
      log,
      'compiling',
      () =>
        run.go(['build', '-v', '-mod=mod', '-trimpath', '-o', builtBinary, './cmd/ferretdb'], {
          cwd: sourceDir,
          env,
          timeoutMs: 20 * 60_000,
          onLine: (line) => {
            if (line.startsWith('go: downloading ')) log(`      ${line.slice('go: '.length)}`);
            else if (!line.startsWith('go: ') && !line.includes(' ')) counts.packages += 1;
          },
        }),
      () => `${counts.packages} packages compiled`,
    );
    run.throwIfInterrupted();
    await mkdir(installDir, { recursive: true });
    // Rename is atomic: a concurrent build or start never sees half a binary.
    await rename(builtBinary, binary);
  } finally {
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
  log(`FerretDB ${build} built in ${formatDuration(Date.now() - startedAt)}: ${binary}`);
}

/**
 * A line every 15 s while a step runs, so that a long step does not look like a hang.
 * @template T
 * @param {Log} log
 * @param {string} doing
 * @param {() => Promise<T>} step
 * @param {() => string} [detail]
 * @returns {Promise<T>}
 */
async function withHeartbeat(log, doing, step, detail) {
  const startedAt = Date.now();
  const timer = setInterval(
    () => log(`      still ${doing}: ${formatDuration(Date.now() - startedAt)}${detail ? `, ${detail()}` : ''}`),
    15_000,
  );
  timer.unref();
  try {
    return await step();
  } finally {
    clearInterval(timer);
  }
}

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
 * What tells a process apart from a later one given the same pid: its start time (clock ticks since
 * boot from /proc on Linux, `ps -o lstart` elsewhere). Undefined when no such process is running (a
 * zombie is not running).
 * @param {number} pid
 * @returns {Promise<string | undefined>}
 */
async function processStartTime(pid) {
  if (process.platform === 'linux') {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (!stat) return undefined;
    // Fields after "pid (command)": state is the 3rd field, starttime the 22nd.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  }
  const { stdout } = await execFileAsync('ps', ['-o', 'lstart=', '-p', String(pid)]).catch(() => ({ stdout: '' }));
  return stdout.trim() || undefined;
}

/**
 * @param {number} pid
 * @returns {Promise<string[]>} the process's command line; empty when it is not running
 */
async function processArguments(pid) {
  if (process.platform === 'linux') {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    return cmdline.split('\0').filter(Boolean);
  }
  const { stdout } = await execFileAsync('ps', ['-o', 'args=', '-p', String(pid)]).catch(() => ({ stdout: '' }));
  return stdout.trim().split(/\s+/).filter(Boolean);
}

/**
 * @typedef {object} PidRecord
 * @property {number} pid the FerretDB process
 * @property {string} startTime its processStartTime
 * @property {number} ownerPid the process that started it (and stops it when it ends)
 * @property {string} ownerStartTime
 */

/** @param {string} dataDir */
async function readPidRecord(dataDir) {
  try {
    const record = /** @type {Partial<PidRecord>} */ (JSON.parse(await readFile(join(dataDir, PID_FILE), 'utf8')));
    return typeof record.pid === 'number' && typeof record.ownerPid === 'number'
      ? /** @type {PidRecord} */ (record)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the process is our FerretDB serving that data folder (not a later process given the pid). */
async function isFerretDbOn(/** @type {PidRecord} */ record, /** @type {string} */ dataDir) {
  if ((await processStartTime(record.pid)) !== record.startTime) return false;
  const args = await processArguments(record.pid);
  return basename(args[0] ?? '') === 'ferretdb' && args.includes(`--state-dir=${dataDir}`);
}

/** SIGTERM, then SIGKILL when it has not ended after the timeout. */
async function terminate(/** @type {number} */ pid, /** @type {string} */ startTime, timeoutMs = 5000) {
  const running = async () => (await processStartTime(pid)) === startTime;
  const signal = (/** @type {NodeJS.Signals} */ name) => {
    try {
      process.kill(pid, name);
    } catch {
      // gone already
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (await running()) {
    if (Date.now() > deadline) {
      signal('SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
      if (await running()) throw new EmbeddedDatabaseUnavailableError(`FerretDB pid ${pid} did not stop on SIGKILL`);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Before a FerretDB starts on a data folder: one left running there by a process that was killed
 * (SIGKILL leaves its children behind) is stopped, so that two never share the SQLite files. One whose
 * starting process is still running is not touched: that is an error (another app on the same folder).
 * @param {string} dataDir
 * @param {Log} log
 */
async function stopStaleFerretDb(dataDir, log) {
  const record = await readPidRecord(dataDir);
  if (!record) return;
  if (await isFerretDbOn(record, dataDir)) {
    if ((await processStartTime(record.ownerPid)) === record.ownerStartTime) {
      throw new EmbeddedDatabaseUnavailableError(
        `FerretDB (pid ${record.pid}) already serves ${dataDir} for process ${record.ownerPid}, which is ` +
          'still running: stop that one first, or give this one another EMBEDDED_DB_DIR.',
      );
    }
    log(`stopping FerretDB pid ${record.pid}, left running on ${dataDir} by process ${record.ownerPid}, which ended`);
    await terminate(record.pid, record.startTime);
  }
  await rm(join(dataDir, PID_FILE), { force: true });
}

/**
 * @param {string} dataDir
 * @param {number} pid
 */
async function writePidRecord(dataDir, pid) {
  /** @type {PidRecord} */
  const record = {
    pid,
    startTime: (await processStartTime(pid)) ?? '',
    ownerPid: process.pid,
    ownerStartTime: (await processStartTime(process.pid)) ?? '',
  };
  const path = join(dataDir, PID_FILE);
  await writeFile(`${path}.tmp`, `${JSON.stringify(record)}\n`);
  await rename(`${path}.tmp`, path);
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
 * Starts FerretDB on a data folder, after stopping one a killed process left running on it. It is
 * stopped when this process exits, and by `stop()`.
 * @param {StartFerretDbOptions} options
 * @returns {Promise<RunningFerretDb>}
 */
async function startFerretDb(options) {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await findFreePort(host));
  const log = options.log ?? ((message) => process.stderr.write(`[embedded database] ${message}\n`));
  await mkdir(options.dataDir, { recursive: true });
  await stopStaleFerretDb(options.dataDir, log);
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
  const pid = /** @type {number} */ (child.pid);
  await writePidRecord(options.dataDir, pid);
  const removePidRecord = async () => {
    if ((await readPidRecord(options.dataDir))?.pid === pid) await rm(join(options.dataDir, PID_FILE), { force: true });
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (!(await canConnect(host, port))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      await exitPromise;
      await removePidRecord();
      throw new EmbeddedDatabaseUnavailableError(
        `FerretDB did not start on ${host}:${port}${exited ? ` (exit code ${child.exitCode})` : ''}: ${output.trim()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
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
      await removePidRecord();
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
