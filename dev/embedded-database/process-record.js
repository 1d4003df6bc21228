// @ts-check
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: the compiled app require()s this folder at run time */
'use strict';

const { execFile } = require('node:child_process');
const { createHash, randomBytes } = require('node:crypto');
const { link, readFile, rename, rm, writeFile } = require('node:fs/promises');
const { basename, join } = require('node:path');
const { promisify } = require('node:util');
const { EmbeddedDatabaseUnavailableError } = require('./errors');

/** The lock of a data folder and record of the FerretDB serving it (see lockDataFolder). */
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
 * The data folder's lock and record, PID_FILE. It is created (never overwritten by another process)
 * before a FerretDB is started there, and completed with that FerretDB once it runs.
 * @typedef {object} PidRecord
 * @property {number} ownerPid the process holding the folder (it starts FerretDB and stops it when it ends)
 * @property {string} ownerStartTime its processStartTime
 * @property {string} [token] makes each lock's text unique (absent in older records)
 * @property {number} [pid] the FerretDB process, once started
 * @property {string} [startTime] its processStartTime
 */

/** @param {unknown} error @param {string} code */
const hasCode = (error, code) => /** @type {NodeJS.ErrnoException} */ (error)?.code === code;

/** @param {string} text */
function parseRecord(text) {
  try {
    const record = /** @type {Partial<PidRecord> | null} */ (JSON.parse(text));
    return typeof record?.ownerPid === 'number' && typeof record.ownerStartTime === 'string'
      ? /** @type {PidRecord} */ (record)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The file's text and the record it holds (undefined when none); undefined when there is no file.
 * @param {string} path
 */
async function readRecordFile(path) {
  try {
    const text = await readFile(path, 'utf8');
    return { text, record: parseRecord(text) };
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

/** A complete file in a temporary name next to `path` (same file system: linked or renamed there atomically). */
async function writeTemporary(/** @type {string} */ path, /** @type {string} */ text) {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, text);
  return temporary;
}

/**
 * Creates `path` holding `text` only if there is no such file: a hard link to a complete temporary
 * file, which fails when the name exists, so that no reader ever sees half a record.
 * @returns {Promise<boolean>} false when it exists
 */
async function createExclusively(/** @type {string} */ path, /** @type {string} */ text) {
  const temporary = await writeTemporary(path, text);
  try {
    await link(temporary, path);
    return true;
  } catch (error) {
    if (hasCode(error, 'EEXIST')) return false;
    throw error;
  } finally {
    await rm(temporary, { force: true });
  }
}

/** Whether that process (told apart from a later one given the same pid by its start time) is running. */
async function isRunning(/** @type {number} */ pid, /** @type {string} */ startTime) {
  if (startTime) return (await processStartTime(pid)) === startTime;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return hasCode(error, 'EPERM');
  }
}

/** Whether the process is our FerretDB serving that data folder (not a later process given the pid). */
async function isFerretDbOn(/** @type {{ pid: number, startTime: string }} */ record, /** @type {string} */ dataDir) {
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
 * Removes `path` if it still holds `text`: a lock (or marker) whose owner has ended. Only the process
 * that creates the marker `<path>.<digest of text>.takeover` may remove it, so that of two starts that
 * judged it stale, the later does not remove the new lock the earlier has just created (a text, with
 * its token, never comes back once removed). A marker left by a process that ended half-way is itself
 * removed the same way.
 * @param {string} path
 * @param {string} text
 * @param {string} ownText this process's record, written into the marker
 * @returns {Promise<boolean>} false when another running process holds the marker (try again later)
 */
async function removeStale(path, text, ownText, depth = 0) {
  const marker = `${path}.${createHash('sha256').update(text).digest('hex').slice(0, 16)}.takeover`;
  if (!(await createExclusively(marker, ownText))) {
    const found = await readRecordFile(marker);
    if (found && !(found.record && (await isRunning(found.record.ownerPid, found.record.ownerStartTime))))
      if (depth < 3) await removeStale(marker, found.text, ownText, depth + 1);
    return false;
  }
  try {
    if ((await readRecordFile(path))?.text === text) await rm(path, { force: true });
    return true;
  } finally {
    await rm(marker, { force: true });
  }
}

/** The lock on a data folder held by this process (lockDataFolder). */
class DataFolderLock {
  /** @param {string} path @param {PidRecord} record */
  constructor(path, record) {
    this.path = path;
    this.record = record;
  }

  async #isMine() {
    const { record } = (await readRecordFile(this.path)) ?? {};
    return record?.ownerPid === process.pid && record.token === this.record.token;
  }

  /** Completes the record with the FerretDB now serving the folder (atomically: rename over the lock). */
  async recordFerretDb(/** @type {number} */ pid) {
    if (!(await this.#isMine())) throw new EmbeddedDatabaseUnavailableError(`${this.path} is no longer this process's`);
    const record = { ...this.record, pid, startTime: (await processStartTime(pid)) ?? '' };
    await rename(await writeTemporary(this.path, `${JSON.stringify(record)}\n`), this.path);
    this.record = record;
  }

  /** Removes the lock, if it is still this one. */
  async release() {
    if (await this.#isMine()) await rm(this.path, { force: true });
  }
}

/**
 * Locks a data folder before a FerretDB is started on it, so that two never share its SQLite files:
 * PID_FILE is created only if it does not exist (createExclusively). When it exists and its owner is
 * still running, the folder is in use: an error. When its owner has ended (SIGKILL leaves its FerretDB
 * behind), that FerretDB is stopped and the stale lock removed (removeStale) before trying again.
 * @param {string} dataDir
 * @param {Log} log
 * @returns {Promise<DataFolderLock>}
 */
async function lockDataFolder(dataDir, log) {
  const path = join(dataDir, PID_FILE);
  /** @type {PidRecord} */
  const own = {
    ownerPid: process.pid,
    ownerStartTime: (await processStartTime(process.pid)) ?? '',
    token: randomBytes(8).toString('hex'),
  };
  const ownText = `${JSON.stringify(own)}\n`;
  // Long enough for another start to stop a stale FerretDB (terminate) while this one waits.
  const deadline = Date.now() + 20_000;
  while (!(await createExclusively(path, ownText))) {
    const found = await readRecordFile(path);
    if (!found) continue;
    const { record, text } = found;
    if (record && (await isRunning(record.ownerPid, record.ownerStartTime))) {
      throw new EmbeddedDatabaseUnavailableError(
        `${dataDir} is in use by process ${record.ownerPid}, which is still running ` +
          `(${record.pid === undefined ? 'starting a FerretDB there' : `its FerretDB is pid ${record.pid}`}): ` +
          'stop that one first, or give this one another data folder (EMBEDDED_DB_DIR for the app).',
      );
    }
    if (
      record?.pid !== undefined &&
      (await isFerretDbOn({ pid: record.pid, startTime: record.startTime ?? '' }, dataDir))
    ) {
      log(`stopping FerretDB pid ${record.pid}, left running on ${dataDir} by process ${record.ownerPid}, which ended`);
      await terminate(record.pid, record.startTime ?? '');
    }
    if (await removeStale(path, text, ownText)) {
      if (!record) log(`${path} held no lock record: removed`);
    } else {
      if (Date.now() > deadline) throw new EmbeddedDatabaseUnavailableError(`${dataDir} could not be locked in time`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return new DataFolderLock(path, own);
}

module.exports = { PID_FILE, lockDataFolder };
