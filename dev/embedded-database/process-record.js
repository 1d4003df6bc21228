// @ts-check
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: the compiled app require()s this folder at run time */
'use strict';

const { execFile } = require('node:child_process');
const { readFile, rm, rename, writeFile } = require('node:fs/promises');
const { basename, join } = require('node:path');
const { promisify } = require('node:util');
const { EmbeddedDatabaseUnavailableError } = require('./errors');

/** Written into the data folder while a FerretDB serves it (see stopStaleFerretDb). */
const PID_FILE = 'ferretdb.pid';

const execFileAsync = promisify(execFile);

/** @typedef {(message: string) => void} Log */

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

module.exports = { readPidRecord, stopStaleFerretDb, writePidRecord, PID_FILE };
