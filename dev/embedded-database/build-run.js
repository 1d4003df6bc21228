// @ts-check
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: the compiled app require()s this folder at run time */
'use strict';

const { spawn } = require('node:child_process');
const { createInterface } = require('node:readline');
const { EmbeddedDatabaseUnavailableError } = require('./errors');

// The go commands of a FerretDB build (./build.js), each in a process group of its own, so that a
// signal stops go and the compilers it started together.

class FerretDbBuildInterruptedError extends Error {
  /** @override */
  name = 'FerretDbBuildInterruptedError';
  /** @param {NodeJS.Signals} signal */
  constructor(signal) {
    super(`FerretDB build interrupted by ${signal}: go stopped, temporary folder removed`);
    this.signal = signal;
  }
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

module.exports = { BuildRun, FerretDbBuildInterruptedError };
