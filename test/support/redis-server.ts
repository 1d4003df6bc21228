import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect } from '../../dev/embedded-database/ferretdb-server';
import { findFreePort } from './free-port';
import { ensureDebianPackage } from './debian-package';

export interface RunningRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Debian's redis-server, installed on first use when missing. */
export function ensureRedisServer(log: (message: string) => void): Promise<void> {
  return ensureDebianPackage('redis-server', ['--version'], 'redis-server', log);
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
