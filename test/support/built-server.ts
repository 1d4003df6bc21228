import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { canConnect } from '../../dev/embedded-database/ferretdb-server';
import { testHttpAdapter } from './http-adapter';
import { builtDist } from './nest-build';

const ROOT = resolve(__dirname, '..', '..');

/** `node main.js` of the current src/, built as `npm run build` builds it (see builtDist). */
export async function builtMainJs(): Promise<string> {
  return join(await builtDist(), 'main.js');
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
