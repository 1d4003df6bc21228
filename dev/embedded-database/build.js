// @ts-check
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: the compiled app require()s this folder at run time */
'use strict';

const { execFile } = require('node:child_process');
const { constants } = require('node:fs');
const { access, chmod, cp, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } = require('node:fs/promises');
const { join } = require('node:path');
const { promisify } = require('node:util');
const { BuildRun, FerretDbBuildInterruptedError } = require('./build-run');
const { EmbeddedDatabaseUnavailableError } = require('./errors');
const { applyFerretDbSourcePatch, FERRETDB_PATCH_LEVEL } = require('./ferretdb-source-patch');

// Building FerretDB from source with Go on first use (see ensureFerretDbBinary): progress lines while
// it runs, stale build folders removed, and a clean stop on SIGINT or SIGTERM (the go processes are
// run by ./build-run.js).

/** The FerretDB release built. */
const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
/** Temporary build folders, inside the cache folder (so that the finished binary is renamed, not copied). */
const BUILD_FOLDER_PREFIX = 'ferretdb-build-';
/** A build folder older than this was left by a process killed mid-build: removed by the next build. */
const STALE_BUILD_FOLDER_MS = 3_600_000;
/**
 * Signals that stop a build: the go processes are killed and the temporary folder is removed first.
 * Not SIGHUP: a listener for it would override the ignore that `nohup` sets up.
 */
const BUILD_INTERRUPTING_SIGNALS = /** @type {const} */ (['SIGINT', 'SIGTERM']);

const execFileAsync = promisify(execFile);

/** @typedef {(message: string) => void} Log */

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
 * @param {{ run: InstanceType<typeof BuildRun>, cacheDir: string, installDir: string, binary: string, build: string, log: Log }} options
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

module.exports = {
  FERRETDB_VERSION,
  FerretDbBuildInterruptedError,
  ensureFerretDbBinary,
  isGoAvailable,
};
