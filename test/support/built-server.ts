import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { canConnect } from '../../dev/embedded-database/ferretdb-server';
import { testHttpAdapter } from './http-adapter';

const execFileAsync = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const OUTPUT = join(ROOT, 'test-output');
const BUILD_PREFIX = 'build-';
const STALE_BUILD_MS = 3_600_000;

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
 * `node main.js` compiled from the current src/, shared by every suite that runs it (start-up, faults) in both Jest projects:
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

export interface ServerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Whether the process is still running (it has neither exited nor been killed by a signal). */
  alive: () => boolean;
  /** Sends `signal` (SIGKILL by default) unless the process has ended; resolves once it has exited. */
  kill: (signal?: NodeJS.Signals) => Promise<void>;
  /** Resolves when the output matches, rejects when the process exits first or time runs out. */
  waitForOutput: (pattern: RegExp, timeoutMs?: number) => Promise<void>;
  /** Resolves when 127.0.0.1:port accepts connections, rejects when the process exits first or time runs out. */
  waitForPort: (port: number, timeoutMs?: number) => Promise<void>;
}

/**
 * A child is SIGKILLed when the Jest worker exits, whatever happened to the test: a failed or
 * timed-out one leaves no process behind.
 */
export function killOnExit(child: ChildProcess): void {
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
}

/** Polls `ready` every `intervalMs` until it holds; rejects with `failure()` once `gone()` or the deadline. */
async function until(
  ready: () => boolean | Promise<boolean>,
  gone: () => boolean,
  failure: (why: string) => Error,
  timeoutMs: number,
  intervalMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (gone()) throw failure('process exited before');
    if (Date.now() > deadline) throw failure('timed out before');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function runServer(mainJs: string, env: Record<string, string | undefined>): ServerProcess {
  const childEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries({
    ...process.env,
    NO_COLOR: '1',
    HTTP_ADAPTER: testHttpAdapter(),
    ...env,
  })) {
    if (value !== undefined) childEnv[name] = value;
  }
  const child = spawn(process.execPath, [mainJs], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const alive = () => child.exitCode === null && child.signalCode === null;

  return {
    child,
    output: () => output,
    exited,
    alive,
    async kill(signal = 'SIGKILL') {
      if (alive()) child.kill(signal);
      await exited;
    },
    waitForOutput: (pattern, timeoutMs = 30_000) =>
      until(
        () => pattern.test(output),
        () => hasExited,
        (why) => new Error(`${why} printing ${pattern}:\n${output}`),
        timeoutMs,
        100,
      ),
    waitForPort: (port, timeoutMs = 60_000) =>
      until(
        () => canConnect('127.0.0.1', port),
        () => hasExited,
        (why) => new Error(`${why} listening on 127.0.0.1:${port}:\n${output}`),
        timeoutMs,
        50,
      ),
  };
}

/**
 * A development start as on a fresh clone: no MONGODB_URI, database name, secrets or host, so that the
 * app starts the embedded database in `dataDir` and makes up its secrets.
 */
export function developmentStartEnv(dataDir: string, port: number): Record<string, string | undefined> {
  return {
    NODE_ENV: 'development',
    MONGODB_URI: undefined,
    MONGODB_DB_NAME: undefined,
    ACCESS_TOKEN_SECRET: undefined,
    REFRESH_TOKEN_SECRET: undefined,
    EMBEDDED_DB_DIR: dataDir,
    PORT: String(port),
    HOST: undefined,
  };
}
