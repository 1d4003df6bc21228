import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { canConnect } from '../../dev/embedded-database/ferretdb-server';
import { ensureDebianPackage } from './debian-package';

/**
 * Throw-away redis-server processes on loopback for the tests (one server, a cluster's nodes, a
 * Sentinel group), and the small admin helpers the suites use on them.
 */

const HOST = '127.0.0.1';

/** Debian's redis-server (and redis-cli with it), installed on first use when missing. */
export function ensureRedisServer(log: (message: string) => void): Promise<void> {
  return ensureDebianPackage('redis-server', ['--version'], 'redis-server', log);
}

/** redis-server options shared by every data node: loopback, no persistence, its log in the topology's folder. */
export function dataNodeArgs(port: number, dir: string): string[] {
  // Diskless sync without its default 5 s delay, so that a replica is in sync a few ms after it starts.
  return [
    ...['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir],
    ...['--daemonize', 'no', '--logfile', join(dir, `redis-${port}.log`)],
    ...['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'],
  ];
}

/** The redis-server processes of one topology, in one temporary folder; all SIGKILLed on stop and on process exit. */
export class RedisProcesses {
  private readonly children = new Map<number, { child: ChildProcess; exited: Promise<void>; done: boolean }>();
  private readonly killAll = () => this.children.forEach(({ child }) => child.kill('SIGKILL'));

  private constructor(readonly dir: string) {
    process.once('exit', this.killAll);
  }

  /** Also installs redis-server (and redis-cli with it) when missing: a suite may run without the global setup. */
  static async create(prefix: string): Promise<RedisProcesses> {
    await ensureRedisServer((message) => process.stderr.write(`[redis] ${message}\n`));
    return new RedisProcesses(await mkdtemp(join(tmpdir(), prefix)));
  }

  /** Starts `redis-server args` and resolves once it accepts connections on `port` (the log file is `logFile`). */
  async spawn(port: number, args: string[], logFile = join(this.dir, `redis-${port}.log`)): Promise<void> {
    // Output too: a configuration error is printed before the log file is opened.
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const entry = { child, done: false, exited: Promise.resolve() };
    entry.exited = new Promise<void>((resolveExit) => {
      const ended = () => ((entry.done = true), resolveExit());
      child.once('exit', ended);
      child.once('error', ended); // not started at all: there may be no 'exit'
    });
    this.children.set(port, entry);
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(HOST, port))) {
      if (entry.done || Date.now() > deadline) {
        child.kill('SIGKILL');
        const log = await readFile(logFile, 'utf8').catch(() => '');
        const why = entry.done ? `exited with code ${child.exitCode}` : 'not listening after 10 s';
        const tail = `${output}${log}`.trim().split('\n').slice(-5).join('\n');
        throw new Error(`redis-server on port ${port} ${why}: ${tail}`);
      }
      await sleep(25);
    }
  }

  livePorts(): number[] {
    return [...this.children].filter(([, { done }]) => !done).map(([port]) => port);
  }

  async kill(port: number): Promise<void> {
    const entry = this.children.get(port);
    if (!entry) throw new Error(`no redis-server of this topology on port ${port}`);
    entry.child.kill('SIGKILL');
    await entry.exited;
  }

  signal(port: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
    const entry = this.children.get(port);
    if (!entry) throw new Error(`no redis-server of this topology on port ${port}`);
    entry.child.kill(signal);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.children.keys()].map((port) => this.kill(port)));
    process.removeListener('exit', this.killAll);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** One admin connection to one node, always closed; a node that is down rejects at once instead of being retried. */
export async function withNode<T>(port: number, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectTimeout: 1_000,
    commandTimeout: 2_000,
  });
  redis.on('error', () => {}); // the failure reaches the caller through connect() or the command
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** `check` returns undefined once satisfied, else what is still missing; that goes into the error on timeout. */
export async function until(what: string, timeoutMs: number, check: () => Promise<string | undefined>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing = await check().catch((error: Error) => error.message);
    if (missing === undefined) return;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms: ${missing}`);
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** "field:value" lines of INFO. */
export function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*?)\\r?$`, 'm').exec(info)?.[1];
}
