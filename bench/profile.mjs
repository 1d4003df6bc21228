// `npm run profile`: where one production instance of dist/main.js spends its CPU under load, as a flame
// graph. It starts FerretDB (and Redis with --redis) on loopback, one instance under `node --cpu-prof`,
// drives closed-loop load at one GET route, stops the instance with SIGTERM (V8 writes the profile as the
// process exits), and writes <out>.svg, cut to the measured seconds: start-up, the login and the warm-up
// are not in it. Every process it started is stopped at the end, on error and on Ctrl-C, and its
// temporary folders are removed.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { logIn, registerUser, spawnAppInstance } from './lib/apps.mjs';
import { cpuProfileToSvg, profileStats, profileWindow, topByPackage, topSelf } from './lib/flame-graph.mjs';
import { runClosedLoop } from './lib/load.mjs';
import { ProcessSet, ROOT, startDatabase, startRedis } from './lib/processes.mjs';
import { seedSessions } from './lib/seed.mjs';

const USAGE = `Usage: npm run profile [-- options]      (or: node bench/profile.mjs [options] after npm run build)

  --adapter A        fastify (default) or express
  --redis            revocation state in Redis (default: in the database)
  --path P           the GET route under load: /api/auth/verify (default, with a live Bearer token) or
                     /health/live, or any other GET route that answers 2xx
  --seconds S        seconds of profiled load (default 20), after a warm-up that is not in the profile
  --connections N    closed-loop connections (default 20)
  --sessions N       seed the database with N sessions first (default 0)
  --out PATH         write PATH.svg (default docs/performance/profile-<adapter>-<db|redis>-<route>)
  --help             this text`;

const log = (message) => console.error(`[profile ${new Date().toISOString().slice(11, 19)}] ${message}`);
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

function parseOptions(argv) {
  const options = {
    adapter: 'fastify',
    redis: false,
    path: '/api/auth/verify',
    seconds: 20,
    connections: 20,
    sessions: 0,
  };
  for (let index = 0; index < argv.length; index++) {
    const [flag, inline] = argv[index].split('=', 2);
    const value = () => inline ?? argv[++index];
    if (flag === '--help') options.help = true;
    else if (flag === '--redis') options.redis = true;
    else if (flag === '--adapter') options.adapter = value();
    else if (flag === '--path') options.path = value();
    else if (flag === '--out') options.out = value();
    else if (['--seconds', '--connections', '--sessions'].includes(flag)) {
      const number = Number(value());
      if (!Number.isFinite(number) || number < 0) throw new Error(`${flag} needs a number`);
      options[flag.slice(2)] = number;
    } else throw new Error(`unknown option ${argv[index]}`);
  }
  if (!['fastify', 'express'].includes(options.adapter)) throw new Error('--adapter is fastify or express');
  if (!options.path?.startsWith('/')) throw new Error('--path must start with /');
  if (!(options.seconds > 0) || !(options.connections >= 1)) throw new Error('--seconds and --connections > 0');
  const route = options.path.split('/').filter(Boolean).pop() ?? 'root';
  options.out ??= `docs/performance/profile-${options.adapter}-${options.redis ? 'redis' : 'db'}-${route}`;
  options.out = resolve(options.out.replace(/\.svg$/, ''));
  return options;
}

let options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  console.error(`${error.message}\n\n${USAGE}`);
  process.exit(2);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}

const processes = new ProcessSet();
let database;

/** SIGTERM: the app drains and exits 0 through its graceful shutdown, and V8 writes the profile on exit. */
async function stopAndReadProfile(handle, cpuDir) {
  handle.child.kill('SIGTERM');
  const timeout = new Promise((resolveTimeout) => setTimeout(() => resolveTimeout('timeout'), 30_000).unref());
  const code = await Promise.race([handle.exited, timeout]);
  if (code !== 0) throw new Error(`the app did not exit cleanly on SIGTERM (${code}):\n${handle.output()}`);
  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread, the one serving HTTP.
  const name = readdirSync(cpuDir).find((file) => file.endsWith('.cpuprofile') && file.includes(`.${handle.pid}.0.`));
  if (!name) throw new Error(`no .cpuprofile of pid ${handle.pid} in ${cpuDir}`);
  return JSON.parse(readFileSync(join(cpuDir, name), 'utf8'));
}

const pad = (text, width) => String(text).padEnd(width);
const padLeft = (text, width) => String(text).padStart(width);

function printSummary(run, profile) {
  const stats = profileStats(profile);
  console.log(
    `\nGET ${options.path}, ${options.adapter}${options.redis ? ' + Redis' : ' + database'}: ` +
      `${Math.round(run.rps).toLocaleString('en-US')} req/s over ${run.seconds.toFixed(1)} s ` +
      `(p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, ${options.connections} connections)`,
  );
  console.log('  under --cpu-prof, which costs throughput: compare figures with npm run bench, not with these.');
  console.log(
    `  ${stats.samples.toLocaleString('en-US')} samples in ${stats.seconds.toFixed(1)} s, ` +
      `${stats.idle.toLocaleString('en-US')} more idle (left out of every percentage)`,
  );
  console.log('\nTop 15 functions by self time:');
  for (const entry of topSelf(profile, 15)) {
    console.log(`  ${padLeft(entry.percent.toFixed(1), 5)} %  ${pad(entry.name, 48)} ${entry.where}`);
  }
  console.log('\nSelf time by origin:');
  for (const entry of topByPackage(profile)) {
    const samples = padLeft(entry.samples.toLocaleString('en-US'), 8);
    console.log(`  ${padLeft(entry.percent.toFixed(1), 5)} %  ${samples}  ${entry.group}`);
  }
}

async function main() {
  if (!existsSync(join(ROOT, 'dist/main.js'))) throw new Error('dist/main.js is missing: run `npm run build` first');
  // Bounded whatever happens: a server that stops answering must not keep the run (and its children) alive.
  const limitS = 3 * options.seconds + 300;
  setTimeout(() => {
    console.error(`profile: still running after ${limitS} s, giving up`);
    process.exit(1);
  }, limitS * 1000).unref();

  database = await startDatabase(processes, log);
  const redis = options.redis ? await startRedis(processes) : undefined;
  log(`FerretDB ${database.version}${redis ? ` and Redis ${redis.version}` : ''} started`);
  const secrets = {
    ACCESS_TOKEN_SECRET: randomBytes(48).toString('base64url'),
    REFRESH_TOKEN_SECRET: randomBytes(48).toString('base64url'),
  };
  const cpuDir = processes.tempDir('profile-cpu-');
  const workDir = processes.tempDir('profile-work-');
  const instance = { id: `profile-${options.adapter}`, label: 'app', adapter: options.adapter, redis: options.redis };
  const app = await spawnAppInstance(processes, instance, {
    databaseUri: database.uri,
    redisUrl: redis?.url,
    secrets,
    workDir,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${cpuDir}`],
  });
  log(`${options.adapter} instance started under --cpu-prof (pid ${app.handle.pid})`);
  if (options.sessions > 0) {
    // After the app's start, so its indexes exist; before the login, so that session is among the newest.
    const seeded = await seedSessions({ uri: database.uri, databaseName: app.databaseName, total: options.sessions });
    log(`seeded: ${seeded.users} users, ${seeded.sessions} sessions`);
  }
  const token = (await logIn('app', app.base, await registerUser('app', app.base, 'profile'))).accessToken;
  const url = `${app.base}${options.path}`;
  const headers = options.path.startsWith('/api/') ? { authorization: `Bearer ${token}` } : {};
  const probe = await fetch(url, { headers });
  if (!probe.ok) throw new Error(`GET ${options.path} answered ${probe.status}: the profile would be of refusals`);

  const warmupS = Math.min(5, Math.max(1, options.seconds / 4));
  log(`warming up for ${warmupS} s, then ${options.seconds} s profiled`);
  await runClosedLoop({ url, headers, connections: options.connections, durationS: warmupS });
  const fromUs = nowUs();
  const run = await runClosedLoop({ url, headers, connections: options.connections, durationS: options.seconds });
  const toUs = nowUs();

  const whole = await stopAndReadProfile(app.handle, cpuDir);
  // V8's profile clock and process.hrtime are both CLOCK_MONOTONIC in one machine: the window lines up.
  const aligned = whole.startTime <= fromUs && whole.endTime >= toUs;
  if (!aligned) log('warning: the profile clock does not cover the load window; drawing the whole profile');
  const profile = aligned ? profileWindow(whole, fromUs, toUs) : whole;

  const setup = `${options.adapter}${options.redis ? ' + Redis' : ' + database'}`;
  const svg = cpuProfileToSvg(profile, {
    title: `CPU profile of GET ${options.path} (${setup})`,
    subtitle:
      `${Math.round(run.rps).toLocaleString('en-US')} req/s under --cpu-prof, ${options.seconds} s, ` +
      `${options.connections} connections, ${options.sessions} seeded sessions; Node.js ${process.versions.node}, ` +
      `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${new Date().toISOString().slice(0, 10)}`,
  });
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(`${options.out}.svg`, svg);
  printSummary(run, profile);
  const shown = relative(process.cwd(), `${options.out}.svg`);
  console.log(`\nWritten: ${shown.startsWith('..') ? `${options.out}.svg` : shown}`);
}

try {
  await main();
} catch (error) {
  console.error(`\nprofile failed: ${error.stack ?? error}`);
  process.exitCode = 1;
} finally {
  await processes.stopChildren();
  await database?.stop().catch(() => undefined);
  processes.killNow();
}
