// The cost of checking revocation on every request, measured side by side in one run:
// GET /health/live (the framework's floor: no guard, no lookup) against GET /api/auth/verify with a
// live token, on the production build, once with revocation state in the database and once in Redis.
//
//   npm run build && node bench/revocation-check.mjs [--rounds 3] [--duration 5] [--connections 20]
//
// Everything runs on loopback and stops by itself. Each scenario is measured in several rounds,
// interleaved, and the median of the rounds is reported.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir, tmpdir, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

const require = createRequire(import.meta.url);
const ROOT = resolve(new URL('.', import.meta.url).pathname, '..');
const { ensureFerretDbBinary, startFerretDb, findFreePort } = require(
  join(ROOT, 'dist/database/embedded/ferretdb-server.js'),
);

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const ROUNDS = option('rounds', 3);
const DURATION_S = option('duration', 5);
const CONNECTIONS = option('connections', 20);

const children = [];
const cleanups = [];
process.on('exit', () => children.forEach((child) => child.kill('SIGKILL')));

function waitFor(child, pattern, label) {
  return new Promise((resolveWait, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${label} did not start:\n${output}`)), 30_000);
    const onData = (chunk) => {
      output += chunk.toString();
      if (pattern.test(output)) {
        clearTimeout(timer);
        resolveWait();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${label} exited (${code}):\n${output}`)));
  });
}

async function startRedis() {
  const port = await findFreePort();
  const dir = await mkdtemp(join(tmpdir(), 'bench-redis-'));
  const child = spawn('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ]);
  children.push(child);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await waitFor(child, /Ready to accept connections/, 'redis-server');
  return `redis://127.0.0.1:${port}`;
}

async function startApp(env) {
  const port = await findFreePort();
  const child = spawn(process.execPath, [join(ROOT, 'dist/main.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      NO_COLOR: '1',
      AUTH_RATE_LIMIT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  await waitFor(child, /Listening on/, 'app');
  return `http://127.0.0.1:${port}`;
}

async function loginToken(base) {
  const username = `bench_${randomBytes(4).toString('hex')}`;
  const credentials = { username, password: 'bench-password-123' };
  const post = (path) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(credentials),
    });
  await post('/api/auth/register');
  const { accessToken } = await (await post('/api/auth/login')).json();
  const check = await fetch(`${base}/api/auth/verify`, { headers: { authorization: `Bearer ${accessToken}` } });
  if (check.status !== 204) throw new Error(`verify answered ${check.status}`);
  return accessToken;
}

function run(url, headers) {
  return new Promise((resolveRun, reject) => {
    autocannon({ url, headers, connections: CONNECTIONS, duration: DURATION_S, pipelining: 1 }, (error, result) => {
      if (error) return reject(error);
      const unexpected = result.non2xx + result.errors + result.timeouts;
      if (unexpected > 0) return reject(new Error(`${url}: ${unexpected} failed responses`));
      resolveRun({ rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 });
    });
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

async function main() {
  const cacheDir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'secure-logout-jwt');
  const binary = await ensureFerretDbBinary(cacheDir, (message) => console.error(message));
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-db-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const database = await startFerretDb({ binary, dataDir });
  cleanups.push(() => database.stop());
  const redisUrl = await startRedis();

  const secrets = {
    ACCESS_TOKEN_SECRET: randomBytes(48).toString('base64url'),
    REFRESH_TOKEN_SECRET: randomBytes(48).toString('base64url'),
  };
  const databaseApp = await startApp({ ...secrets, MONGODB_URI: database.uri, MONGODB_DB_NAME: 'bench_db_mode' });
  const redisApp = await startApp({
    ...secrets,
    MONGODB_URI: database.uri,
    MONGODB_DB_NAME: 'bench_redis_mode',
    REDIS_URL: redisUrl,
  });
  const databaseToken = await loginToken(databaseApp);
  const redisToken = await loginToken(redisApp);

  const scenarios = [
    { name: 'GET /health/live (database mode app)', url: `${databaseApp}/health/live` },
    {
      name: 'GET /api/auth/verify, revocation in the database',
      url: `${databaseApp}/api/auth/verify`,
      headers: { authorization: `Bearer ${databaseToken}` },
    },
    { name: 'GET /health/live (Redis mode app)', url: `${redisApp}/health/live` },
    {
      name: 'GET /api/auth/verify, revocation in Redis',
      url: `${redisApp}/api/auth/verify`,
      headers: { authorization: `Bearer ${redisToken}` },
    },
  ];
  // Warm-up: JIT, connection pools.
  for (const scenario of scenarios) await run(scenario.url, scenario.headers).catch((e) => Promise.reject(e));
  const samples = new Map(scenarios.map((scenario) => [scenario.name, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const scenario of scenarios) samples.get(scenario.name).push(await run(scenario.url, scenario.headers));
    console.error(`round ${round}/${ROUNDS} done`);
  }

  const rows = scenarios.map((scenario) => {
    const results = samples.get(scenario.name);
    return {
      name: scenario.name,
      rps: median(results.map((r) => r.rps)),
      p50: median(results.map((r) => r.p50)),
      p99: median(results.map((r) => r.p99)),
    };
  });
  const floor = (index) => rows[index].rps;
  console.log(
    `\n${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, ${CONNECTIONS} connections, ${ROUNDS} rounds x ${DURATION_S} s, medians\n`,
  );
  console.log('| scenario | req/s | p50 ms | p99 ms | vs /health/live of the same app |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  rows.forEach((row, index) => {
    const ratio = row.rps / floor(index < 2 ? 0 : 2);
    console.log(`| ${row.name} | ${Math.round(row.rps)} | ${row.p50} | ${row.p99} | ${ratio.toFixed(2)} |`);
  });
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    children.forEach((child) => child.kill('SIGTERM'));
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    setTimeout(() => process.exit(), 1000).unref();
  });
