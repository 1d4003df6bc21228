import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canConnect, findFreePort } from '../../src/database/embedded/ferretdb-server';

const execFileAsync = promisify(execFile);

export interface RunningRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

async function hasRedisServer(): Promise<boolean> {
  try {
    await execFileAsync('redis-server', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Debian's redis-server, installed with apt-get on first use when missing (the machines this project
 * runs on are root and reach Debian's packages), so `npm test` needs no step of its own.
 */
export async function ensureRedisServer(log: (message: string) => void): Promise<void> {
  if (await hasRedisServer()) return;
  log('redis-server not found: installing Debian package redis-server (apt-get, first run only)...');
  try {
    await execFileAsync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 10 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    }).catch(async () => {
      await execFileAsync('apt-get', ['update'], { timeout: 10 * 60_000, maxBuffer: 64 * 1024 * 1024 });
      await execFileAsync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], {
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        timeout: 10 * 60_000,
        maxBuffer: 64 * 1024 * 1024,
      });
    });
  } catch (error) {
    throw new Error(`redis-server is needed by the tests and could not be installed: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** A throw-away Redis on loopback: no persistence, its own folder, a free (or given) port. */
export async function startRedis(port?: number): Promise<RunningRedis> {
  const listenPort = port ?? (await findFreePort());
  const dir = await mkdtemp(join(tmpdir(), 'slj-redis-'));
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(listenPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
    ],
    { stdio: 'ignore' },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let exited = false;
  const exitPromise = new Promise<void>((resolveExit) => child.once('exit', () => ((exited = true), resolveExit())));
  const deadline = Date.now() + 10_000;
  while (!(await canConnect('127.0.0.1', listenPort))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start on port ${listenPort}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${listenPort}`,
    port: listenPort,
    async stop() {
      if (!exited) {
        child.kill('SIGKILL');
        await exitPromise;
      }
      process.removeListener('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
