import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { canConnect } from '../../src/database/embedded/ferretdb-server';
import { runServer, type ServerProcess } from '../support/built-server';
import { TEST_ENV } from '../support/test-env';

/**
 * The real processes of the fault suites: the built `node main.js`, a FerretDB and a Redis that a
 * test can SIGKILL and start again on the same port (and, for FerretDB, the same data folder).
 * Every child is SIGKILLed when the Jest worker exits, whatever happened to the test.
 */

const execFileAsync = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const OUTPUT = join(ROOT, 'test-output');
const BUILD_PREFIX = 'faults-build-';
const STALE_BUILD_MS = 3_600_000;

const sleep = (ms: number) => new Promise<void>((resolveSleep) => setTimeout(resolveSleep, ms));

/** SIGKILLs the child if the worker exits first (a failed or timed-out test leaves no process behind). */
function killOnExit(child: ChildProcess): void {
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
}

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await filesUnder(path)));
    else found.push(path);
  }
  return found.sort();
}

/** What the emitted JavaScript depends on: src/, the compiler settings and the installed packages. */
async function sourceKey(): Promise<string> {
  const hash = createHash('sha256');
  const files = [
    ...(await filesUnder(join(ROOT, 'src'))),
    ...['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((name) => join(ROOT, name)),
  ];
  for (const file of files) {
    hash.update(relative(ROOT, file)).update('\0');
    hash.update(await readFile(file).catch(() => Buffer.alloc(0))).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

async function pruneOldBuilds(keep: string): Promise<void> {
  const names = await readdir(OUTPUT).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(BUILD_PREFIX) || name === keep) continue;
    const path = join(OUTPUT, name);
    const info = await stat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > STALE_BUILD_MS) await rm(path, { recursive: true, force: true });
  }
}

/**
 * `node main.js` compiled from the current src/, shared by the fault suites of both Jest projects:
 * one tsc run (about 12 s on two cores) instead of one per suite and adapter. The folder is named
 * after a hash of what the output depends on, so a changed src/ is always rebuilt; it is written
 * under another name and renamed, so a suite never starts a half-written build.
 */
export async function builtMainJs(): Promise<string> {
  const name = `${BUILD_PREFIX}${await sourceKey()}`;
  const outDir = join(OUTPUT, name);
  const mainJs = join(outDir, 'main.js');
  if (!(await stat(mainJs).catch(() => undefined))) {
    const tmpDir = join(OUTPUT, `${name}.tmp-${randomBytes(4).toString('hex')}`);
    await mkdir(tmpDir, { recursive: true });
    try {
      await execFileAsync(
        process.execPath,
        [
          join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
          '-p',
          join(ROOT, 'tsconfig.build.json'),
          '--outDir',
          tmpDir,
          '--tsBuildInfoFile',
          join(tmpDir, '.tsbuildinfo'),
        ],
        { cwd: ROOT, timeout: 120_000 },
      ).catch((error: Error & { stdout?: string; stderr?: string }) => {
        // tsc reports on stdout: without it the failure says only "Command failed".
        throw new Error(`src/ does not compile: ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`, {
          cause: error,
        });
      });
      // Fails when a suite running in parallel renamed its build first: that one is used.
      await rename(tmpDir, outDir).catch(() => undefined);
    } finally {
      await rm(tmpDir, { recursive: true, force: true });
    }
    await pruneOldBuilds(name);
  }
  return mainJs;
}

export interface AppProcess extends ServerProcess {
  port: number;
  /** Whether the process is still running (it has neither exited nor been killed by a signal). */
  alive: () => boolean;
  kill: () => Promise<void>;
}

/** Starts `node main.js` on loopback and waits until it listens. */
export async function startApp(mainJs: string, port: number, env: Record<string, string | undefined>) {
  const server = runServer(mainJs, {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    AUTH_RATE_LIMIT: '0',
    LOGIN_MAX_FAILURES: '1000',
    // Warnings (every 503 is one) and errors (every 500 is one) are what the suites read.
    LOG_LEVEL: 'warn',
    ...env,
  });
  killOnExit(server.child);
  const app: AppProcess = {
    ...server,
    port,
    alive: () => server.child.exitCode === null && server.child.signalCode === null,
    async kill() {
      if (!app.alive()) return;
      server.child.kill('SIGKILL');
      await server.exited;
    },
  };
  // Ready when the port accepts connections (the start-up log line is below LOG_LEVEL=warn).
  const deadline = Date.now() + 60_000;
  while (!(await canConnect('127.0.0.1', port))) {
    if (!app.alive() || Date.now() > deadline) {
      await app.kill();
      throw new Error(`node main.js did not listen on 127.0.0.1:${port}:\n${server.output()}`);
    }
    await sleep(50);
  }
  return app;
}

export interface KillableServer {
  port: number;
  /** SIGKILL, as a crash or an OOM kill would: no shutdown of any kind. Resolves once it has exited. */
  kill: () => Promise<void>;
}

async function spawnListening(command: string, args: string[], port: number, what: string): Promise<KillableServer> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const deadline = Date.now() + 20_000;
  while (!(await canConnect('127.0.0.1', port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await kill();
      throw new Error(`${what} did not start on 127.0.0.1:${port}: ${output.trim()}`);
    }
    await sleep(25);
  }
  return { port, kill };
}

/**
 * A FerretDB of the suite's own (never the run's shared one), storing in `dataDir`: started again
 * with the same port and folder, it serves the same data. Resolves once the port accepts connections.
 * The flags are those of startFerretDb (src/database/embedded/ferretdb-server.ts), which cannot be
 * SIGKILLed from outside.
 */
export function startKillableFerretDb(dataDir: string, port: number): Promise<KillableServer> {
  const binary = process.env[TEST_ENV.ferretDbBinary];
  if (!binary) throw new Error(`${TEST_ENV.ferretDbBinary} is not set: run through Jest's global setup`);
  return spawnListening(
    binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dataDir}/`,
      `--state-dir=${dataDir}`,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=warn',
    ],
    port,
    'FerretDB',
  );
}

/**
 * A Redis of the suite's own in `dir`. `persistent`: every write is appended and fsynced before it
 * is acknowledged, so a Redis SIGKILLed and started again on the same folder comes back with its
 * data; otherwise it comes back empty.
 */
export function startKillableRedis(dir: string, port: number, persistent: boolean): Promise<KillableServer> {
  return spawnListening(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      persistent ? 'yes' : 'no',
      '--appendfsync',
      'always',
      '--daemonize',
      'no',
    ],
    port,
    'redis-server',
  );
}
