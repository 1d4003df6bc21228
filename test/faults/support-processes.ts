import { spawn, type ChildProcess } from 'node:child_process';
import { canConnect } from '../../src/database/embedded/ferretdb-server';
import { runServer, type ServerProcess } from '../support/built-server';

export { builtMainJs } from '../support/built-server';
import { TEST_ENV } from '../support/test-env';

/**
 * The real processes of the fault suites: the built `node main.js`, a FerretDB and a Redis that a
 * test can SIGKILL and start again on the same port (and, for FerretDB, the same data folder).
 * Every child is SIGKILLed when the Jest worker exits, whatever happened to the test.
 */

const sleep = (ms: number) => new Promise<void>((resolveSleep) => setTimeout(resolveSleep, ms));

/** SIGKILLs the child if the worker exits first (a failed or timed-out test leaves no process behind). */
function killOnExit(child: ChildProcess): void {
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
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
