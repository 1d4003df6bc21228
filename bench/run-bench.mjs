// `npm run bench`: what the per-request revocation check costs, measured side by side in one run on this
// machine, against a bare node:http server (the ceiling) and the tutorial's own design (the baseline).
//
//   npm run bench [-- --rounds 3 --duration 5 --connections 20 --quick --update-docs --help]
//
// It starts, all on loopback: FerretDB, Redis, four production instances of dist/main.js ({Express,
// Fastify} × revocation state {in the database, in Redis}), bench/baselines/node-http-204.mjs (the
// ceiling), bench/baselines/express-204.mjs (bare Express 5) and bench/baselines/tutorial-express.mjs.
// Then, in this order:
//   1. volume: each instance's database filled to 100 sessions, then to 50,000 (bench/lib/seed.mjs); after
//      each filling a new user logs in, and p50/p99 of GET /api/auth/verify and POST /api/auth/refresh
//      (chains of rotations) are measured in interleaved rounds. The database stays at 50,000, and every
//      later step uses a session logged in after that filling;
//   2. throughput: every GET scenario warmed up, then measured in interleaved rounds (medians); then, the
//      same way, through nginx running deploy/nginx.conf (per Redis-mode instance, one nginx in front of it and a
//      second instance sharing its state, the node:http server
//      as the protected upstream): /app/ with auth_request on each, and without auth (the proxy's ceiling);
//   3. memory: RSS of the fast and the default instance before and after --rss-requests guarded
//      requests (minutes after step 1's few logins, before the login steps, so that argon2's buffers
//      cannot hide a leak);
//   4. logins: POST /api/auth/login req/s (argon2id at the configured cost), interleaved rounds;
//   5. login storm: p99 of GET /api/auth/verify at a fixed rate, alone and during a login storm;
//   6. password-change flood: p99 of other users' logins at a fixed rate, alone and while one account
//      floods wrong password changes, on a fifth instance that runs with the default limits;
//   7. guard package: the example resource service (examples/resource-service) reading the key set and the
//      revocation feed of one of two EdDSA instances: from a logout's answer to the example's first 401
//      (200 logouts on each instance), and its guarded route against the same route unguarded.
// --flood-only starts FerretDB and that instance only, and measures step 6 alone. --proxy-only starts
// FerretDB, Redis, the two Redis-mode instances, the upstream and nginx, and measures the nginx scenarios alone.
// It writes bench/results/ and prints the Markdown that docs/performance.md shows. Every process it
// started is stopped at the end, on error and on Ctrl-C, and its temporary folders are removed.
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { startAppInstance, startBareExpress, startCeiling, startTutorial } from './lib/apps.mjs';
import { FLOOD_INSTANCE, measureFlood } from './lib/flood.mjs';
import { formatGuardMarkdown, GUARD_LOGOUTS, measureGuard } from './lib/guard.mjs';
import { median, runClosedLoop, runOpenLoop, summarizeRounds } from './lib/load.mjs';
import { CpuAccount, measureInterleaved, PAUSE_MS } from './lib/measure.mjs';
import { parseOptions, USAGE } from './lib/options.mjs';
import { measureProxies, PROXY_SCENARIO_COUNT } from './lib/proxy.mjs';
import { ProcessSet, ROOT, rssMiB, sleep, startDatabase, startRedis } from './lib/processes.mjs';
import { commandLine, describeMachine, formatMarkdown, docsBlock, updateDocs, writeResults } from './lib/report.mjs';
import { checkTargets } from './lib/targets.mjs';
import { measureVolume, VOLUME_SESSIONS } from './lib/volume.mjs';

const INSTANCES = [
  { id: 'express-db', label: 'Express+DB', adapter: 'express', redis: false },
  { id: 'express-redis', label: 'Express+Redis', adapter: 'express', redis: true },
  { id: 'fastify-db', label: 'Fastify+DB', adapter: 'fastify', redis: false },
  { id: 'fastify-redis', label: 'Fastify+Redis', adapter: 'fastify', redis: true },
];
/** Fastify with Redis is the product's fast mode, Express with the database its default. */
const DEEP_CHECKED = ['fastify-redis', 'express-db'];
const RSS_SAMPLE_MS = 2000;
/** Seconds to fill one database to the larger volume (about 18 s for 50,000 sessions on FerretDB), and logins. */
const SEED_SECONDS = 25;
const STORM_RATE_DIVISOR = 8;

const log = (message) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

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
/** What the orderly end must stop besides the spawned children. */
const running = { database: undefined };

/** Alternating rounds of logins alone and logins during the flood, with the attacker's set-up. */
function floodSeconds() {
  return options.rounds * (2 * options.durationS + 3);
}

/** Two hundred logouts on each instance (an argon2 login each), and the two example scenarios. */
function guardSeconds() {
  return 30 + (2 * GUARD_LOGOUTS) / 10 + 2 * (options.warmupS + options.rounds * options.durationS);
}

function plannedSeconds(scenarioCount) {
  if (options.guardOnly) return guardSeconds();
  if (options.floodOnly) return 30 + floodSeconds();
  const round = options.warmupS + options.rounds * options.durationS;
  if (options.proxyOnly) return 30 + PROXY_SCENARIO_COUNT * round;
  const throughput = (scenarioCount + PROXY_SCENARIO_COUNT) * round;
  // Verify and refresh on every instance at each volume, and the filling of every database.
  const volume = VOLUME_SESSIONS.length * 2 * INSTANCES.length * round + INSTANCES.length * SEED_SECONDS;
  const logins = DEEP_CHECKED.length * round;
  const storm = DEEP_CHECKED.length * options.rounds * 2 * (options.durationS + 1);
  // The memory runs last as long as the machine needs, within their bound; 3000 req/s is a small machine.
  const memory =
    DEEP_CHECKED.length * (options.rssWarmupS + Math.min(options.rssMaxSeconds, options.rssRequests / 3000));
  return 30 + volume + throughput + logins + storm + memory + floodSeconds() + guardSeconds();
}

function throughputScenarios(instances, { ceiling, bareExpress, tutorial }) {
  const scenarios = [
    { id: 'ceiling', kind: 'ceiling', label: 'node:http 204 (ceiling)', pid: ceiling.pid, load: { url: ceiling.url } },
    {
      id: 'bare-express',
      kind: 'bare-express',
      label: 'Express 5 204 (bare)',
      pid: bareExpress.pid,
      load: { url: bareExpress.url },
    },
  ];
  for (const instance of Object.values(instances)) {
    const common = {
      instance: instance.id,
      instanceLabel: instance.label,
      adapter: instance.adapter,
      redis: instance.redis,
      pid: instance.pid,
    };
    const authorization = { authorization: `Bearer ${instance.token}` };
    scenarios.push(
      {
        ...common,
        id: `${instance.id}-live`,
        kind: 'live',
        label: `${instance.label} GET /health/live`,
        load: { url: `${instance.base}/health/live` },
      },
      {
        ...common,
        id: `${instance.id}-verify`,
        kind: 'verify',
        label: `${instance.label} GET /api/auth/verify`,
        load: { url: `${instance.base}/api/auth/verify`, headers: authorization },
      },
    );
  }
  scenarios.push({
    id: 'tutorial-verify',
    kind: 'tutorial',
    label: 'Tutorial (Express, jwt.verify + findById)',
    pid: tutorial.pid,
    load: { url: tutorial.url, headers: { authorization: `Bearer ${tutorial.token}` } },
  });
  return scenarios;
}

function loginScenarios(instances) {
  return DEEP_CHECKED.map((id) => ({
    id: `${id}-login`,
    kind: 'login',
    instance: id,
    instanceLabel: instances[id].label,
    adapter: instances[id].adapter,
    label: `${instances[id].label} POST /api/auth/login`,
    pid: instances[id].pid,
    connections: options.loginConnections,
    load: {
      url: `${instances[id].base}/api/auth/login`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: instances[id].loginBody,
    },
  }));
}

async function measureMemory(instance, services) {
  log(`memory: ${options.rssRequests} GET /api/auth/verify on ${instance.label}`);
  const guarded = {
    url: `${instance.base}/api/auth/verify`,
    headers: { authorization: `Bearer ${instance.token}` },
    connections: options.connections,
  };
  // Both readings are taken in the same state, one quiet second after the same load: the heap grows and
  // shrinks with the load, and only what stays after many more requests is growth.
  await runClosedLoop({ ...guarded, durationS: options.rssWarmupS });
  await sleep(1000);
  const beforeMiB = rssMiB(instance.pid);
  const cpu = new CpuAccount(services);
  // The path between the two readings tells a leak (a steady climb) from a heap settling at a new size.
  const samples = [];
  const sampleStart = performance.now();
  const sampler = setInterval(() => {
    samples.push({ atS: (performance.now() - sampleStart) / 1000, rssMiB: rssMiB(instance.pid) });
  }, RSS_SAMPLE_MS);
  const result = await cpu
    .measure(instance.pid, () =>
      runClosedLoop({ ...guarded, amount: options.rssRequests, maxSeconds: options.rssMaxSeconds, allowPartial: true }),
    )
    .finally(() => clearInterval(sampler));
  await sleep(1000);
  const afterMiB = rssMiB(instance.pid);
  return {
    instance: instance.id,
    instanceLabel: instance.label,
    requests: result.requests,
    stoppedEarly: result.stoppedEarly,
    rps: result.rps,
    seconds: result.seconds,
    beforeMiB,
    afterMiB,
    peakMiB: rssMiB(instance.pid, { peak: true }),
    growthPercent: ((afterMiB - beforeMiB) / beforeMiB) * 100,
    trendMiBPer100k: trendPer100k(samples, result.rps),
    samples,
    cpu: cpu.cores(),
  };
}

/**
 * Least-squares slope of RSS over the run, in MiB per 100,000 requests. Garbage collection makes RSS swing
 * by tens of MiB, so two readings alone can show growth or shrinkage that is not there; a leak climbs.
 */
function trendPer100k(samples, rps) {
  // Over less than half a minute a slope mostly measures where one collection cycle happened to be.
  if (samples.length < 15) return Number.NaN;
  const meanTime = samples.reduce((sum, sample) => sum + sample.atS, 0) / samples.length;
  const meanRss = samples.reduce((sum, sample) => sum + sample.rssMiB, 0) / samples.length;
  let covariance = 0;
  let variance = 0;
  for (const sample of samples) {
    covariance += (sample.atS - meanTime) * (sample.rssMiB - meanRss);
    variance += (sample.atS - meanTime) ** 2;
  }
  return (covariance / variance / rps) * 100_000;
}

/**
 * The guarded route at a fixed rate (open loop), alone and while `loginConnections` clients log in as
 * fast as they are answered, in alternating rounds. A fixed rate, because at full speed a p99 only
 * measures the queue the client builds itself.
 */
async function measureStorm(instance, verifyRps, login, services) {
  // An eighth of the closed-loop figure: requests arriving one by one cost the server about twice as much
  // as the batches 20 busy connections deliver, so this keeps the event loop about a quarter busy, far
  // enough from saturation that the idle p99 is not already a queue.
  const rate = Math.max(50, Math.round(options.stormRate ?? verifyRps / STORM_RATE_DIVISOR));
  const verifyLoad = {
    url: `${instance.base}/api/auth/verify`,
    headers: { authorization: `Bearer ${instance.token}` },
    rate,
    durationS: options.durationS,
  };
  log(`login storm on ${instance.label}: verify at ${rate} req/s, alone and while ${options.loginConnections} log in`);
  const idleRounds = [];
  const stormRounds = [];
  const idleCpu = new CpuAccount(services);
  const stormCpu = new CpuAccount(services);
  for (let round = 1; round <= options.rounds; round++) {
    idleRounds.push(await idleCpu.measure(instance.pid, () => runOpenLoop(verifyLoad)));
    await sleep(PAUSE_MS);
    const storm = runClosedLoop({
      ...login.load,
      connections: options.loginConnections,
      durationS: options.durationS + 1,
    });
    // Awaited below; this only keeps a failure during the verify run from going unhandled meanwhile.
    storm.catch(() => undefined);
    // Half a second for the storm to fill the hashing pool before the measured requests start.
    await sleep(500);
    const verify = await stormCpu.measure(instance.pid, () => runOpenLoop(verifyLoad));
    stormRounds.push({ ...verify, loginRps: (await storm).rps });
    await sleep(PAUSE_MS);
  }
  const idle = summarizeRounds(idleRounds, idleCpu);
  const during = {
    ...summarizeRounds(stormRounds, stormCpu),
    loginRps: median(stormRounds.map((row) => row.loginRps)),
  };
  return {
    instance: instance.id,
    instanceLabel: instance.label,
    rate,
    idle,
    storm: during,
    ratio: during.p99 / idle.p99,
  };
}

function distBuildTime() {
  try {
    return statSync(join(ROOT, 'dist/main.js')).mtime.toISOString();
  } catch {
    return undefined;
  }
}

function throughputScenarioCount() {
  // The ceiling, bare Express, /health/live and verify on each instance, the tutorial: see throughputScenarios.
  return options.floodOnly || options.proxyOnly ? 0 : 3 + 2 * INSTANCES.length;
}

/** Steps 1 to 5 on the four instances and the baselines; only the nginx scenarios with --proxy-only. */
async function measureEverythingElse(startInstance, measuring, { services, databaseUri, secret }) {
  const instances = {};
  // One after the other: four Nest start-ups at once on two cores are no faster, and harder to diagnose.
  for (const instance of INSTANCES.filter((candidate) => candidate.redis || !options.proxyOnly))
    instances[instance.id] = await startInstance(instance);
  const ceiling = await startCeiling(processes);
  if (options.proxyOnly) {
    const proxy = await measureProxies(processes, { instances, ceiling, measuring, startInstance });
    return { throughput: [], loginResults: [], storm: [], rss: [], proxy };
  }
  const bareExpress = await startBareExpress(processes);
  const tutorial = await startTutorial(processes, { databaseUri, secret });
  log('every server is up and answers as expected');

  const { volume, tokens } = await measureVolume(Object.values(instances), { databaseUri, measuring });
  for (const [id, token] of Object.entries(tokens)) instances[id].token = token;
  const scenarios = throughputScenarios(instances, { ceiling, bareExpress, tutorial });
  const logins = loginScenarios(instances);
  const throughput = await measureInterleaved(scenarios, { ...measuring, phase: 'throughput' });
  const proxy = await measureProxies(processes, { instances, ceiling, measuring, startInstance });
  const rss = [];
  for (const id of DEEP_CHECKED) rss.push(await measureMemory(instances[id], services));
  const loginResults = await measureInterleaved(logins, { ...measuring, phase: 'logins' });
  const storm = [];
  for (const id of DEEP_CHECKED) {
    const verifyRps = throughput.find((scenario) => scenario.id === `${id}-verify`).rps;
    const login = logins.find((scenario) => scenario.instance === id);
    storm.push(await measureStorm(instances[id], verifyRps, login, services));
  }
  return { throughput, loginResults, storm, rss, proxy, volume };
}

async function main() {
  const startedAt = Date.now();
  const machine = describeMachine();
  log(`${machine.cpuCount} × ${machine.cpuModel}, Node.js ${machine.node}, ${machine.os}`);
  const loadAtStart = loadavg()[0];
  if (loadAtStart > machine.cpuCount / 2) {
    log(`warning: load average ${loadAtStart.toFixed(1)} at the start: other work will lower and scatter the figures`);
  }

  // The instances load dist/ when they start; a rebuild meanwhile (another terminal) would mix two builds.
  const distBuiltAt = distBuildTime();
  const database = await startDatabase(processes, log);
  running.database = database;
  if (options.guardOnly) {
    const guard = await measureGuard(processes, { database, services: { ferretdbPid: database.pid }, options, log });
    return { date: new Date(startedAt).toISOString(), command: commandLine(process.argv.slice(2)), machine, guard };
  }
  const redis = options.floodOnly ? undefined : await startRedis(processes);
  const services = { ferretdbPid: database.pid, redisPid: redis?.pid };
  log(
    `FerretDB ${database.version} (pid ${database.pid})` +
      (redis ? ` and Redis ${redis.version} (pid ${redis.pid}) started` : ' started'),
  );

  const secrets = {
    ACCESS_TOKEN_SECRET: randomBytes(48).toString('base64url'),
    REFRESH_TOKEN_SECRET: randomBytes(48).toString('base64url'),
  };
  const workDir = processes.tempDir('bench-work-');
  const startInstance = (instance) =>
    startAppInstance(processes, instance, { databaseUri: database.uri, redisUrl: redis?.url, secrets, workDir });

  const planned = plannedSeconds(throughputScenarioCount());
  log(`planned: about ${Math.round(planned / 60)} min of measurement`);
  // Bounded whatever happens: a server that stops answering must not keep the run (and its children) alive.
  const limitMs = Math.max(10 * 60, 3 * planned) * 1000;
  setTimeout(() => {
    console.error(`bench: still running after ${Math.round(limitMs / 60_000)} min, giving up`);
    process.exit(1);
  }, limitMs).unref();

  const measuring = { ...options, services, log };
  const measured = options.floodOnly
    ? { throughput: [], loginResults: [], storm: [], rss: [], proxy: { scenarios: [] } }
    : await measureEverythingElse(startInstance, measuring, {
        services,
        databaseUri: database.uri,
        secret: secrets.ACCESS_TOKEN_SECRET,
      });
  // Started last, so that it sits idle through no other measurement.
  const flood = options.proxyOnly ? [] : [await measureFlood(await startInstance(FLOOD_INSTANCE), measuring)];
  const guard =
    options.proxyOnly || options.floodOnly
      ? undefined
      : await measureGuard(processes, { database, services, options, log });

  const { throughput, loginResults, storm, rss, proxy, volume } = measured;
  const byId = new Map(throughput.map((scenario) => [scenario.id, scenario]));
  const ceilingRps = byId.get('ceiling')?.rps;
  const report = {
    date: new Date(startedAt).toISOString(),
    command: commandLine(process.argv.slice(2)),
    minutes: (Date.now() - startedAt) / 60_000,
    machine,
    services: {
      ferretdb: database.version,
      redis: redis?.version ?? 'not started (--flood-only)',
      ...(proxy.version ? { nginx: proxy.version } : {}),
    },
    settings: {
      rounds: options.rounds,
      durationS: options.durationS,
      warmupS: options.warmupS,
      connections: options.connections,
      loginConnections: options.loginConnections,
      rssRequests: options.rssRequests,
      rssMaxSeconds: options.rssMaxSeconds,
      rssWarmupS: options.rssWarmupS,
      stormRate: options.stormRate ?? `1/${STORM_RATE_DIVISOR} of the instance's verify req/s`,
      floodConnections: options.floodConnections,
      floodLoginRate: options.floodLoginRate,
      quick: Boolean(options.quick),
      floodOnly: Boolean(options.floodOnly),
      proxyOnly: Boolean(options.proxyOnly),
    },
    distBuiltAt,
    distRebuiltDuringRun: distBuildTime() !== distBuiltAt,
    // What the rest of the machine used during the throughput rounds (the nginx or the flood rounds when
    // there are none): about 0 on a quiet machine.
    otherCores:
      throughput.length + proxy.scenarios.length > 0
        ? median((throughput.length > 0 ? throughput : proxy.scenarios).map((scenario) => scenario.cpu.other))
        : median(flood.flatMap((entry) => [entry.idle.cpu.other, entry.flood.cpu.other])),
    loadAverage: { start: loadAtStart, end: loadavg()[0] },
    scenarios: [...throughput, ...loginResults].map((scenario) => ({
      ...scenario,
      ratioToLive: ['live', 'verify'].includes(scenario.kind)
        ? scenario.rps / byId.get(`${scenario.instance}-live`).rps
        : null,
      ratioToCeiling: scenario.rps / ceilingRps,
    })),
    proxy: proxy.scenarios.map((scenario) => ({ ...scenario, ratioToCeiling: scenario.rps / ceilingRps })),
    volume,
    storm,
    rss,
    flood,
    guard,
  };
  if (report.distRebuiltDuringRun)
    log('warning: dist/ was rebuilt during the run, the instances may run different builds');
  report.targets = checkTargets(report);
  return report;
}

try {
  const report = await main();
  if (options.guardOnly) {
    const file = join(ROOT, 'bench', 'results', `bench-${report.date.slice(0, 10)}-guard-only.json`);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\n${formatGuardMarkdown(report.guard)}\n\nWritten: ${file}`);
  } else {
    const written = await writeResults(report);
    if (options.updateDocs) written.push(...(await updateDocs(report)));
    console.log(`\n${await formatMarkdown(docsBlock(report, 'bench/results/latest.svg'))}`);
    if (report.guard) console.log(`${formatGuardMarkdown(report.guard)}\n`);
    console.log(`Written: ${written.join(', ')}`);
    if (!options.updateDocs) console.log('docs/performance.md shows a full run: npm run bench -- --update-docs');
  }
} catch (error) {
  console.error(`\nbench failed: ${error.stack ?? error}`);
  process.exitCode = 1;
} finally {
  await processes.stopChildren();
  await running.database?.stop().catch(() => undefined);
  processes.killNow();
}
