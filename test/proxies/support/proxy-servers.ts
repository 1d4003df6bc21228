import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { canConnect } from '../../../dev/embedded-database/ferretdb-server';
import { findFreePort } from '../../support/free-port';
import { TEST_ENV } from '../../support/test-env';

const DEPLOY_DIR = resolve(__dirname, '..', '..', '..', 'deploy');

export type ProxyKind = 'nginx' | 'caddy';

/** Loopback ports of what the proxy sits in front of. */
export interface ProxyTargets {
  /** The two instances of the service (app1 and app2 in the deploy files). */
  appPorts: [number, number];
  /** The protected application (upstream in the deploy files). */
  upstreamPort: number;
}

export interface RunningProxy {
  kind: ProxyKind;
  url: string;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * A deploy file with its addresses swapped for loopback ports, and nothing else changed: each
 * replaced text must occur exactly as often as expected, so a reshaped deploy file fails loudly here
 * instead of being tested half-adapted.
 */
export function adaptAddresses(text: string, replacements: Array<[from: string, to: string, times: number]>): string {
  let adapted = text;
  for (const [from, to, times] of replacements) {
    const found = adapted.split(from).length - 1;
    if (found !== times) throw new Error(`expected ${times} × "${from}" in the deploy file, found ${found}`);
    adapted = adapted.split(from).join(to);
  }
  return adapted;
}

export async function startProxy(kind: ProxyKind, targets: ProxyTargets): Promise<RunningProxy> {
  const port = await findFreePort();
  const [app1, app2] = targets.appPorts;
  if (kind === 'nginx') {
    const site = adaptAddresses(await readFile(join(DEPLOY_DIR, 'nginx.conf'), 'utf8'), [
      ['server app1:3000;', `server 127.0.0.1:${app1};`, 1],
      ['server app2:3000;', `server 127.0.0.1:${app2};`, 1],
      ['server upstream:80;', `server 127.0.0.1:${targets.upstreamPort};`, 1],
      ['listen 80;', `listen 127.0.0.1:${port};`, 1],
    ]);
    const dir = await mkdtemp(join(tmpdir(), 'slj-nginx-'));
    await writeFile(join(dir, 'site.conf'), site);
    await writeFile(join(dir, 'nginx.conf'), nginxMainFile(dir));
    // One process, no workers: killing it leaves nothing behind, whatever ends the test run.
    const args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off; master_process off;'];
    return watch(kind, spawn('nginx', args, { stdio: ['ignore', 'pipe', 'pipe'] }), port, dir);
  }
  const caddyfile = adaptAddresses(await readFile(join(DEPLOY_DIR, 'Caddyfile'), 'utf8'), [
    ['app1:3000 app2:3000', `127.0.0.1:${app1} 127.0.0.1:${app2}`, 2],
    ['reverse_proxy upstream:80', `reverse_proxy 127.0.0.1:${targets.upstreamPort}`, 1],
    [':80 {', `:${port} {`, 1],
  ]);
  const binary = process.env[TEST_ENV.caddyBinary];
  if (!binary) throw new Error('No Caddy: the Jest global setup did not run');
  const dir = await mkdtemp(join(tmpdir(), 'slj-caddy-'));
  await writeFile(join(dir, 'Caddyfile'), caddyfile);
  const child = spawn(binary, ['run', '--adapter', 'caddyfile', '--config', join(dir, 'Caddyfile')], {
    // Caddy keeps its state under XDG folders: this run's own.
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watch(kind, child, port, dir);
}

function nginxMainFile(dir: string): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((name) => `  ${name}_temp_path ${join(dir, name)};`)
    .join('\n');
  return [
    `pid ${join(dir, 'nginx.pid')};`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    temp,
    `  include ${join(dir, 'site.conf')};`,
    '}',
    '',
  ].join('\n');
}

async function watch(kind: ProxyKind, child: ChildProcess, port: number, dir: string): Promise<RunningProxy> {
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let exited = false;
  const exitPromise = new Promise<void>((resolveExit) => {
    child.once('exit', () => ((exited = true), resolveExit()));
    // A binary that cannot be started emits 'error' and never 'exit'.
    child.once('error', (error) => {
      output += `\n${error.message}`;
      exited = true;
      resolveExit();
    });
  });

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exitPromise;
      clearTimeout(timer);
    }
    process.removeListener('exit', killOnExit);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (!(await canConnect('127.0.0.1', port))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`${kind} did not start on port ${port}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { kind, url: `http://127.0.0.1:${port}`, output: () => output, stop };
}
