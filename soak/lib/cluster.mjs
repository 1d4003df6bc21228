// The system under soak: one FerretDB, one Redis and two production instances of `node dist/main.js`
// sharing both, all on loopback. Also the only place that knows how to clean them up: every child and
// temporary folder is registered here and removed on any kind of exit.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join, resolve } from 'node:path';
import { homedir, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const PROBE = join(ROOT, 'soak', 'event-loop-probe.cjs');
const MAIN = join(ROOT, 'dist', 'main.js');
const REDIS_CANDIDATES = [
  '/usr/bin/redis-server',
  ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'redis-server')),
];
const START_TIMEOUT_MS = 60_000;
/** The instances drain for up to 8 s on SIGTERM (graceful-shutdown.ts); past this they are killed. */
const STOP_TIMEOUT_MS = 10_000;
const LOG_EXAMPLES_KEPT = 5;

const liveChildren = new Set();
const tempDirs = new Set();

// Synchronous on purpose: 'exit' handlers cannot wait. This is the safety net behind the orderly stop
// in stopCluster(), and it also runs after an uncaught error or a second Ctrl-C.
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function makeTempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

function track(child) {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  return child;
}

function loadFerretDbHelpers() {
  const require = createRequire(import.meta.url);
  const compiled = join(ROOT, 'dev/embedded-database/ferretdb-server.js');
  try {
    accessSync(compiled, constants.R_OK);
  } catch {
    throw new Error(`${compiled} is missing`);
  }
  return require(compiled);
}

function findRedisServer() {
  for (const candidate of REDIS_CANDIDATES) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Next candidate.
    }
  }
  throw new Error('redis-server not found (looked in /usr/bin and PATH). Install it: apt-get install -y redis-server');
}

/** The last few kilobytes a child printed, for the error message when it fails to start. */
function collectTail(child) {
  const tail = { text: '' };
  const keep = (chunk) => (tail.text = (tail.text + chunk.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return tail;
}

async function waitUntil(condition, { label, child, tail, timeoutMs = START_TIMEOUT_MS }) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${label} exited during start-up (${child.exitCode ?? child.signalCode}):\n${tail.text}`);
    }
    if (Date.now() > deadline) throw new Error(`${label} did not become ready in ${timeoutMs} ms:\n${tail.text}`);
    await new Promise((resolveDelay) => setTimeout(resolveDelay, 100));
  }
}

async function startRedis({ findFreePort, canConnect }) {
  const binary = findRedisServer();
  const port = await findFreePort();
  const dir = makeTempDir('soak-redis-');
  // No persistence: the soak measures the service, not Redis's disk writes.
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = track(spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  const tail = collectTail(child);
  await waitUntil(() => canConnect('127.0.0.1', port), { label: 'redis-server', child, tail });
  return { url: `redis://127.0.0.1:${port}`, child };
}

/**
 * Pino writes one JSON object per line. Audit events (a failed login, a detected reuse) are logged at
 * warn on purpose and the workload provokes them, so they are counted by name; any other warning or
 * error is counted and the first few kept, so that a run that stays green on the wire but logs errors
 * still shows it.
 */
function watchLog(child) {
  const stats = { auditEvents: {}, warn: 0, error: 0, examples: [] };
  let pending = '';
  const onData = (chunk) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      let entry = { level: 50 };
      try {
        entry = JSON.parse(line);
      } catch {
        // Not JSON (a crash trace printed by Node itself): an error.
      }
      if (typeof entry.audit === 'string') {
        stats.auditEvents[entry.audit] = (stats.auditEvents[entry.audit] ?? 0) + 1;
        continue;
      }
      if (entry.level < 40) continue;
      if (entry.level >= 50) stats.error += 1;
      else stats.warn += 1;
      if (stats.examples.length < LOG_EXAMPLES_KEPT) stats.examples.push(line.slice(0, 600));
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return stats;
}

async function startInstance({ name, adapter, env, findFreePort }) {
  const port = await findFreePort();
  const child = track(
    spawn(process.execPath, ['--require', PROBE, MAIN], {
      cwd: ROOT,
      // A minimal environment rather than the caller's: the run's configuration is exactly what is
      // written here (and in the results file), whatever the shell that started it exported.
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...env,
        HTTP_ADAPTER: adapter,
        HOST: '127.0.0.1',
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    }),
  );
  const tail = collectTail(child);
  const log = watchLog(child);
  const baseUrl = `http://127.0.0.1:${port}`;
  // /health, not /health/live: ready means the database answers too.
  const ready = () =>
    fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) }).then(
      (response) => response.status === 200,
      () => false,
    );
  await waitUntil(ready, { label: `instance ${name} (${adapter})`, child, tail });
  return { name, adapter, port, baseUrl, pid: child.pid, child, log, tail };
}

export function readRssBytes(pid) {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Starts everything. `adapters` names the HTTP adapter of instance A and of instance B. The secrets are
 * random per run but shared, so that a token issued by one instance is valid on the other.
 */
export async function startCluster({ adapters, log }) {
  const ferret = loadFerretDbHelpers();
  const cacheDir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'secure-logout-jwt');
  const binary = await ferret.ensureFerretDbBinary(cacheDir, log);
  const dataDir = makeTempDir('soak-db-');
  const database = await ferret.startFerretDb({ binary, dataDir });
  // database.pid, FerretDB's own pid from startFerretDb, gives its CPU figures (lib/cpu.mjs).
  const redis = await startRedis(ferret);
  const databaseName = `soak_${randomBytes(4).toString('hex')}`;
  const env = {
    NODE_ENV: 'production',
    NO_COLOR: '1',
    ACCESS_TOKEN_SECRET: randomBytes(48).toString('base64url'),
    REFRESH_TOKEN_SECRET: randomBytes(48).toString('base64url'),
    MONGODB_URI: database.uri,
    MONGODB_DB_NAME: databaseName,
    REDIS_URL: redis.url,
    // Reuse detection without a grace period is deterministic: presenting any superseded refresh
    // token is reuse, so the workload can expect 401 and a revoked session every time.
    REFRESH_REUSE_GRACE: '0',
    // Every virtual user comes from 127.0.0.1: per-address limits would throttle the load itself.
    AUTH_RATE_LIMIT: '0',
    PASSWORD_CHANGE_RATE_LIMIT: '0',
    LOGIN_MAX_FAILURES: '1000000',
    LOG_LEVEL: 'warn',
  };
  // One after the other: both at once on two cores makes each start slower and the index creation
  // (createIndexes in the repositories' onModuleInit) race on a fresh database.
  const instances = [];
  for (const [index, adapter] of adapters.entries()) {
    const name = String.fromCharCode('A'.charCodeAt(0) + index);
    instances.push(await startInstance({ name, adapter, env, findFreePort: ferret.findFreePort }));
  }
  const publicEnv = Object.fromEntries(
    Object.entries(env).filter(([key]) => !key.endsWith('_SECRET') && key !== 'MONGODB_URI' && key !== 'REDIS_URL'),
  );
  const versions = { ferretDb: ferret.FERRETDB_VERSION, redis: redisVersion() };
  return { database, databaseName, redis, instances, env: publicEnv, versions };
}

function redisVersion() {
  try {
    const banner = execFileSync(findRedisServer(), ['--version'], { encoding: 'utf8' });
    return /v=(\S+)/.exec(banner)?.[1] ?? banner.trim();
  } catch {
    return null;
  }
}

function waitForExit(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveExit();
    });
  });
}

/** The orderly stop: instances first (they drain and close their connections), then the stores. */
export async function stopCluster(cluster) {
  if (!cluster) return;
  await Promise.all(
    cluster.instances.map((instance) => {
      instance.child.kill('SIGTERM');
      return waitForExit(instance.child, STOP_TIMEOUT_MS);
    }),
  );
  cluster.redis.child.kill('SIGTERM');
  await Promise.all([waitForExit(cluster.redis.child, STOP_TIMEOUT_MS), cluster.database.stop()]);
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
