import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect } from '../../../dev/embedded-database/ferretdb-server';
import { findFreePort } from '../../support/free-port';
import { builtMainJs, killOnExit, runServer, type ServerProcess } from '../../support/built-server';
import { InstanceClient, overSocket, sleep } from '../../support/http';
import { TEST_ENV } from '../../support/test-env';
import { now } from './traffic';

/**
 * The real processes of the fault suites: the built `node main.js`, a FerretDB and a Redis that a
 * test can SIGKILL and start again on the same port (and, for FerretDB, the same data folder).
 * Every child is SIGKILLed when the Jest worker exits, whatever happened to the test.
 */

export interface AppProcess extends ServerProcess {
  port: number;
  baseUrl: string;
  /** Requests to the app, each on a connection of its own (never one the server may be closing). */
  client: InstanceClient;
}

/**
 * Starts `node main.js` (built from the current src/) on a free loopback port, or on `port` (a restart
 * in place), and waits until it listens.
 */
export async function startApp(env: Record<string, string | undefined>, port?: number): Promise<AppProcess> {
  const [mainJs, listenPort] = await Promise.all([builtMainJs(), port ?? findFreePort()]);
  const server = runServer(mainJs, {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(listenPort),
    AUTH_RATE_LIMIT: '0',
    LOGIN_MAX_FAILURES: '1000',
    // Warnings (every 503 is one) and errors (every 500 is one) are what the suites read.
    LOG_LEVEL: 'warn',
    ...env,
  });
  // Ready when the port accepts connections (the start-up log line is below LOG_LEVEL=warn).
  await server.waitForPort(listenPort).catch(async (error: unknown) => {
    await server.kill();
    throw error;
  });
  const baseUrl = `http://127.0.0.1:${listenPort}`;
  return { ...server, port: listenPort, baseUrl, client: new InstanceClient(baseUrl, 'app', overSocket()) };
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
 * The flags are those of startFerretDb (dev/embedded-database/ferretdb-server.js), which is not used
 * here: a FerretDB it started is stopped by its owner, not SIGKILLed and restarted from outside.
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

/**
 * A dependency the suite takes down and brings back, with when: `down()` SIGKILLs it, `up()` starts
 * it again (`start` decides on which folder, with or without its data). `stop()` for afterAll.
 */
export class Dependency {
  private server: KillableServer | undefined;

  constructor(private readonly start: () => Promise<KillableServer>) {}

  /** Starts it; resolves with when it was started and when its port was seen accepting (a little later). */
  async up(start = this.start): Promise<{ restartAt: number; upAt: number }> {
    const restartAt = now();
    this.server = await start();
    return { restartAt, upAt: now() };
  }

  /** SIGKILLs it; resolves with when the kill began. */
  async down(): Promise<number> {
    const at = now();
    await this.server?.kill();
    this.server = undefined;
    return at;
  }

  async stop(): Promise<void> {
    await this.down();
  }
}

/**
 * A Redis of the suite's own on a free port, to take down and bring back (`dependency`): with its
 * data (its first folder again) by default, or empty (`start(false)`: a new folder). remove() for afterAll.
 */
export class OwnRedis {
  readonly dirs: string[] = [];
  readonly url: string;
  readonly dependency: Dependency;

  private constructor(readonly port: number) {
    this.url = `redis://127.0.0.1:${port}`;
    this.dependency = new Dependency(() => this.start(true));
  }

  static async create(): Promise<OwnRedis> {
    const redis = new OwnRedis(await findFreePort());
    await redis.dependency.up();
    return redis;
  }

  /** Persistent: the first folder again (its data); otherwise a new, empty one. */
  start(persistent: boolean): Promise<KillableServer> {
    return this.folder(persistent).then((dir) => startKillableRedis(dir, this.port, persistent));
  }

  private async folder(persistent: boolean): Promise<string> {
    if (!persistent || this.dirs.length === 0) this.dirs.push(await mkdtemp(join(tmpdir(), 'slj-fault-redis-')));
    return persistent ? this.dirs[0] : this.dirs[this.dirs.length - 1];
  }

  async remove(): Promise<void> {
    await this.dependency.stop();
    for (const dir of this.dirs) await rm(dir, { recursive: true, force: true });
  }
}
