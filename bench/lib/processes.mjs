// The processes a benchmark starts (FerretDB, Redis, app instances, baselines), and what /proc says about
// them. Everything started through a ProcessSet is killed when the benchmark exits, however it exits
// (end, error, Ctrl-C), and its temporary folders are removed.
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

export const ROOT = resolve(new URL('.', import.meta.url).pathname, '..', '..');
const projectRequire = createRequire(join(ROOT, 'package.json'));

/** The project's own FerretDB helpers (development tooling, dev/embedded-database/). */
export function ferretDbHelpers() {
  try {
    return projectRequire(join(ROOT, 'dev/embedded-database/ferretdb-server.js'));
  } catch (error) {
    throw new Error(`dev/embedded-database/ferretdb-server.js cannot be loaded (${error.message})`, { cause: error });
  }
}

const OUTPUT_TAIL_CHARS = 8000;
const sleep = (ms) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

export class ProcessSet {
  #children = [];
  #foreignPids = [];
  #tempDirs = [];

  constructor() {
    // 'exit' handlers must be synchronous: kill with SIGKILL and remove folders with rmSync.
    process.once('exit', () => this.killNow());
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      process.once(signal, () => {
        console.error(`\nbench: ${signal} received, stopping every process it started`);
        process.exit(130);
      });
    }
  }

  tempDir(prefix) {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.#tempDirs.push(dir);
    return dir;
  }

  /** A process started by code that does not hand out its ChildProcess (startFerretDb): killed by pid. */
  adoptPid(pid) {
    this.#foreignPids.push({ pid, command: readCmdline(pid)[0] });
  }

  spawn(label, command, args, options = {}) {
    const child = spawn(command, args, { cwd: ROOT, ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const listeners = new Set();
    // Always drained: a child whose pipe fills up blocks on its next write, which would skew its figures.
    const onData = (chunk) => {
      output = (output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
      listeners.forEach((listener) => listener(output));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit(code ?? signal)));
    const handle = {
      label,
      child,
      pid: child.pid,
      exited,
      hasExited: () => child.exitCode !== null || child.signalCode !== null,
      output: () => output,
      onOutput: (listener) => listeners.add(listener),
    };
    this.#children.push(handle);
    return handle;
  }

  killNow() {
    for (const { child } of this.#children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const { pid, command } of this.#foreignPids) {
      // Only if the pid still names the same program: it may have exited and been reused.
      if (readCmdline(pid)[0] === command) process.kill(pid, 'SIGKILL');
    }
    for (const dir of this.#tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }

  /** The orderly end of what this set spawned: SIGTERM, a few seconds to finish, then SIGKILL. */
  async stopChildren(graceMs = 8000) {
    await this.stop(this.#children, graceMs);
  }

  /** The same for some of them, before the end (a process only one step needs). */
  async stop(handles, graceMs = 8000) {
    const running = handles.filter((handle) => !handle.hasExited());
    running.forEach((handle) => handle.child.kill('SIGTERM'));
    await Promise.race([Promise.all(running.map((handle) => handle.exited)), sleep(graceMs)]);
    for (const handle of running) if (!handle.hasExited()) handle.child.kill('SIGKILL');
  }
}

/** Resolves with the parsed line once the process prints a JSON line with `"ready":true`. */
export function waitForReadyLine(handle, timeoutMs = 60_000) {
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${handle.label} did not start in ${timeoutMs / 1000} s:\n${handle.output()}`)),
      timeoutMs,
    );
    handle.onOutput((output) => {
      const line = output.split('\n').find((candidate) => candidate.startsWith('{"ready":true'));
      if (line) {
        clearTimeout(timer);
        resolveReady(JSON.parse(line));
      }
    });
    handle.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${handle.label} exited (${code}) before it was ready:\n${handle.output()}`));
    });
  });
}

/** Polls until the URL answers 2xx: the apps log at warn level, so no "listening" line to wait for. */
export async function waitForHttp(handle, url, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (handle.hasExited()) throw new Error(`${handle.label} exited before it answered:\n${handle.output()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(150);
  }
  throw new Error(`${handle.label} did not answer ${url} within ${timeoutMs / 1000} s:\n${handle.output()}`);
}

export function findExecutable(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat('/usr/bin', '/usr/sbin')) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}

export async function startRedis(processes) {
  const binary = findExecutable('redis-server');
  if (!binary) {
    throw new Error(
      'redis-server was not found: the benchmark measures revocation through Redis too. ' +
        "Install Debian's package with `apt-get install -y redis-server` (as root) and run it again.",
    );
  }
  const { findFreePort } = ferretDbHelpers();
  const port = await findFreePort();
  const dir = processes.tempDir('bench-redis-');
  // No persistence: snapshots forked mid-run would take CPU from the measurement.
  const handle = processes.spawn('redis-server', binary, [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ]);
  await new Promise((resolveReady, reject) => {
    handle.onOutput((output) => /Ready to accept connections/.test(output) && resolveReady());
    handle.exited.then((code) => reject(new Error(`redis-server exited (${code}):\n${handle.output()}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, pid: handle.pid, version: redisVersion(binary) };
}

function redisVersion(binary) {
  try {
    return /v=(\S+)/.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function startDatabase(processes, log) {
  const { ensureFerretDbBinary, startFerretDb, FERRETDB_VERSION } = ferretDbHelpers();
  const cacheDir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'secure-logout-jwt');
  const binary = await ensureFerretDbBinary(cacheDir, log);
  const database = await startFerretDb({ binary, dataDir: processes.tempDir('bench-ferretdb-') });
  // FerretDB's pid, from startFerretDb: for the CPU figures and a sure kill.
  processes.adoptPid(database.pid);
  return { uri: database.uri, pid: database.pid, version: FERRETDB_VERSION, stop: () => database.stop() };
}

function readCmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** The fields of /proc/<pid>/stat after the command name, which may itself contain spaces. */
function readStatFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

let clockTicksPerSecond;
function ticksPerSecond() {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/** User + system CPU seconds the process has used so far (NaN when it is gone or unknown). */
export function cpuSeconds(pid) {
  if (pid === undefined) return Number.NaN;
  if (pid === process.pid) {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  }
  const fields = readStatFields(pid);
  // utime and stime are fields 14 and 15 of stat(5); the array starts at field 3.
  return fields ? (Number(fields[11]) + Number(fields[12])) / ticksPerSecond() : Number.NaN;
}

/**
 * CPU seconds the whole machine has spent busy since boot (every process and the kernel), and the seconds
 * a hypervisor kept its virtual CPUs waiting (steal): both tell whether something else disturbed a figure.
 */
export function machineCpuSeconds() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: idle and iowait are time nobody wanted the CPU.
    const [user, nice, system, , , irq, softirq, steal = 0] = fields;
    return { busy: (user + nice + system + irq + softirq) / ticksPerSecond(), steal: steal / ticksPerSecond() };
  } catch {
    return { busy: Number.NaN, steal: Number.NaN };
  }
}

/** Resident set size in MiB, from VmRSS (VmHWM with `peak`). */
export function rssMiB(pid, { peak = false } = {}) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = Number(new RegExp(`^${peak ? 'VmHWM' : 'VmRSS'}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    return kib / 1024;
  } catch {
    return Number.NaN;
  }
}

export { sleep };
