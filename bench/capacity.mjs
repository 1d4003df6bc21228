// `npm run capacity`: what a verify, refresh, login and logout cost, for docs/scaling.md. On loopback, FerretDB
// and one production instance of dist/main.js at a time ({Express, Fastify} × revocation state in the database
// or in a Redis of its own; default limits, each request from a client address of its own), its database seeded
// (bench/lib/seed.mjs) and reached through a MongoDB wire-protocol proxy (bench/lib/capacity-probes.mjs): CPU
// time per request of the instance, FerretDB and Redis; database commands and Redis calls per operation; bytes
// per Redis key and per document. Prints Markdown, writes bench/results/capacity-*. Every process it started is
// stopped, and its temporary folders removed, at the end, on error and on Ctrl-C.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startAppInstance } from './lib/apps.mjs';
import * as probes from './lib/capacity-probes.mjs';
import { runClosedLoop } from './lib/load.mjs';
import { CpuAccount } from './lib/measure.mjs';
import { ProcessSet, ROOT, startDatabase, startRedis } from './lib/processes.mjs';
import { describeMachine, formatMarkdown } from './lib/report.mjs';
import { seedSessions } from './lib/seed.mjs';
import { table } from './lib/tables.mjs';

const INSTANCES = [false, true].flatMap((redis) =>
  ['Express', 'Fastify'].map((name) => {
    const label = `${name}+${redis ? 'Redis' : 'DB'}`;
    return { id: label.toLowerCase().replace('+', '-'), label, adapter: name.toLowerCase(), redis };
  }),
);
/** The product's defaults where the other benchmarks change them, the access log on (to /dev/null), a trusted proxy. */
const DEFAULTS = { ACCESS_TOKEN_EXPIRY: '15m', AUTH_RATE_LIMIT: '100', LOGIN_MAX_FAILURES: '5', LOG_LEVEL: 'info' };
const ENV = { ...DEFAULTS, LOG_FILE: '/dev/null', TRUST_PROXY: 'loopback' };
const SEEDED_SESSIONS = 10_000;
/** Requests measured for CPU over all rounds, and the connections sending them (refresh: rotation chains). */
const CPU_RUNS = { verify: [2100, 8], refresh: [300, 4], login: [60, 2], logout: [60, 2] };
const ROUNDS = 3;
const COUNTED = 25;
const KEYS_WRITTEN = 10_000;
const IDLE_MS = 4000;
const OPERATIONS = Object.keys(CPU_RUNS);

const log = (message) => console.error(`[capacity ${new Date().toISOString().slice(11, 19)}] ${message}`);
const processes = new ProcessSet();
let ferretdb;

/** Step 1: CPU milliseconds per request of the instance, FerretDB and Redis, over ROUNDS interleaved rounds. */
async function measureCpu(instance, client, services, redis) {
  const chains = [];
  for (let i = 0; i < CPU_RUNS.refresh[1]; i++) chains.push({ refreshToken: (await client.login()).refreshToken });
  const sessions = [];
  const headers = { authorization: `Bearer ${instance.token}` };
  const url = `${instance.base}/api/auth/verify`;
  const runs = {
    verify: (amount) => runClosedLoop({ url, headers, connections: CPU_RUNS.verify[1], amount }),
    refresh: (count) => probes.times(count, chains.length, (_, worker) => client.refresh(chains[worker])),
    login: (count) => probes.times(count, CPU_RUNS.login[1], async () => sessions.push(await client.login())),
    logout: (count) => probes.times(count, CPU_RUNS.logout[1], () => client.logout(sessions.pop().accessToken)),
  };
  const rounds = Object.fromEntries(OPERATIONS.map((name) => [name, []]));
  const redisCpu = () => (redis ? probes.redisCpuSeconds(redis) : 0);
  // Round 0 warms up (the JIT, the connection pools, the hashing thread) and is not measured.
  for (let round = 0; round <= ROUNDS; round++) {
    for (const name of OPERATIONS) {
      const [count, account, redisBefore] = [CPU_RUNS[name][0] / ROUNDS, new CpuAccount(services), await redisCpu()];
      await account.measure(instance.pid, () => runs[name](count));
      if (round > 0) rounds[name].push({ ...account.cores(), redisSeconds: (await redisCpu()) - redisBefore });
    }
  }
  const figures = (name) => {
    const perRequest = (seconds) => (seconds * 1000) / CPU_RUNS[name][0];
    const sum = (pick) => perRequest(rounds[name].reduce((total, round) => total + pick(round), 0));
    const most = (field) => Math.max(...rounds[name].map((round) => round[field]));
    return {
      appMs: sum((round) => round.cpuSeconds.server),
      ferretdbMs: sum((round) => round.cpuSeconds.ferretdb),
      redisMs: redis ? sum((round) => round.redisSeconds) : null,
      appRoundsMs: rounds[name].map((round) => perRequest(round.cpuSeconds.server * ROUNDS)),
      other: most('other'),
      steal: most('steal'),
    };
  };
  return Object.fromEntries(OPERATIONS.map((name) => [name, figures(name)]));
}

const perOperation = (counts) =>
  Object.fromEntries(Object.entries(counts).map(([name, count]) => [name, Math.round((count / COUNTED) * 100) / 100]));

/** Step 2: each kind of operation alone in a window: database commands and Redis calls per operation. */
async function countCommands(instance, client, proxy, probe) {
  const chain = { refreshToken: (await client.login()).refreshToken };
  const sessions = [];
  const work = {
    verify: () => probes.times(COUNTED, 1, () => client.verify(instance.token)),
    refresh: () => probes.times(COUNTED, 1, () => client.refresh(chain)),
    login: () => probes.times(COUNTED, 1, async () => sessions.push(await client.login())),
    logout: () => probes.times(COUNTED, 1, (i) => client.logout(sessions[i].accessToken)),
  };
  const operations = {};
  // Logouts last: once revocations are recent, the catch-up asks Redis too, every 2 s.
  for (const name of OPERATIONS) {
    let redis;
    const tally = await proxy.record(name, async () => {
      redis = await (probe ? probe.record(work[name]) : work[name]());
    });
    const redisCalls = probe && { redis: perOperation(redis.calls), catchUp: redis.catchUp };
    operations[name] = { database: perOperation(tally), ...redisCalls };
  }
  // Quiet seconds with the logouts' revocations recent: what the timers send meanwhile.
  const pause = () => new Promise((resolveIdle) => setTimeout(resolveIdle, IDLE_MS));
  let idle;
  await proxy.record('idle', async () => (idle = probe ? (await probe.record(pause, 0)).catchUp : await pause()), 0);
  const apart = Object.entries(proxy.tallies.apart ?? {}).map(([name, n]) => [name, (n * 60) / proxy.seconds]);
  return { operations, apartPerMinute: Object.fromEntries(apart), countedSeconds: proxy.seconds, idleCatchUp: idle };
}

/** One instance from start to stop, with its own Redis (Redis mode) and its own proxy to FerretDB. */
async function measureInstance(spec, { database, secrets, workDir }) {
  const redis = spec.redis ? await startRedis(processes) : undefined;
  const proxy = await probes.startWireProxy(Number(new URL(database.uri).port));
  let instance;
  let probe;
  try {
    const options = { databaseUri: proxy.uri, redisUrl: redis?.url, secrets, workDir };
    instance = await startAppInstance(processes, { ...spec, env: ENV }, options);
    log(`${spec.label}: seeding ${SEEDED_SESSIONS} sessions`);
    const seed = { uri: database.uri, databaseName: instance.databaseName, total: SEEDED_SESSIONS, idleEnded: false };
    const seeded = await seedSessions(seed);
    const client = probes.clientOf(instance);
    // Logged in after the seeding, so that the session checked is among the newest, as in npm run bench.
    instance.token = (await client.login()).accessToken;
    log(`${spec.label}: CPU, ${ROUNDS} rounds`);
    probe = redis && (await probes.openRedisProbe(redis.url));
    const cpu = await measureCpu(instance, client, { ferretdbPid: database.pid, redisPid: redis?.pid }, probe?.redis);
    log(`${spec.label}: commands per operation, bytes per key and per document`);
    const commands = await countCommands(instance, client, proxy, probe);
    const keys = probe && (await probes.redisKeys(client, probe, KEYS_WRITTEN));
    if (!spec.redis) await client.failedLogin();
    const documents =
      !spec.redis && (await probes.documentBytes(database.uri, instance.databaseName, client.user.username));
    return { ...spec, seeded, cpu, ...commands, keys, documents, redisVersion: redis?.version };
  } finally {
    probe?.close();
    await instance?.stop();
    await proxy.close();
    // Its Redis stays up, idle, until the end: the ProcessSet, which holds its handle, stops it then.
  }
}

const ms = (value) => (value === null ? '–' : value.toFixed(value < 1 ? 3 : value < 10 ? 2 : 1));
const total = (counts, kind = '') =>
  Object.entries(counts).reduce((sum, [name, count]) => sum + (name.startsWith(kind) ? count : 0), 0);
const listed = (counts) =>
  Object.entries(counts)
    .map(([name, count]) => `${name.replace(/^(read|write|other) /, '')} ${count}`)
    .join(', ') || 'none';
/** A heading, a paragraph and a table whose columns of figures are aligned right. */
const section = (heading, text, head, rows) => [
  ...(heading ? [`## ${heading}`] : []),
  text,
  table(
    head,
    head.map((_, index) => rows.every((row) => /^[\d.,–-]+$/.test(String(row[index])))),
    rows.map((row) => row.map((value) => String(value).replaceAll('|', '\\|'))),
  ),
];

function markdown({ machine, instances, ...report }) {
  const withRedis = instances.filter((entry) => entry.redis);
  const cpuRows = instances.flatMap(({ label, cpu }) =>
    OPERATIONS.map((name) => {
      const { appMs, ferretdbMs, redisMs, appRoundsMs } = cpu[name];
      const rounds = `${ms(Math.min(...appRoundsMs))}–${ms(Math.max(...appRoundsMs))}`;
      const figures = [appMs, ferretdbMs, redisMs, appMs + ferretdbMs + (redisMs ?? 0)].map(ms);
      return [label, name, CPU_RUNS[name][0], ...figures, rounds];
    }),
  );
  // Both adapters send the same commands: one row per mode unless they differ.
  const databaseRows = [false, true].flatMap((mode) => {
    const pair = instances.filter((entry) => entry.redis === mode);
    const text = (entry) => OPERATIONS.map((name) => listed(entry.operations[name].database)).join();
    const same = text(pair[0]) === text(pair[1]);
    return (same ? [pair[0]] : pair).flatMap((entry) =>
      OPERATIONS.map((name) => {
        const counts = entry.operations[name].database;
        const label = same ? pair.map((one) => one.label).join(', ') : entry.label;
        return [label, name, total(counts, 'read '), total(counts, 'write '), listed(counts)];
      }),
    );
  });
  const redisRows = OPERATIONS.map((name) => [
    name,
    ...withRedis.map(({ operations: { [name]: row } }) => `${total(row.redis)} (${listed(row.redis)})`),
  ]);
  const keyRows = withRedis.flatMap(({ label, keys }) =>
    Object.entries(keys).map(([name, { key, bytes, ttlMs, usedMemoryPerKey: used }]) => {
      const expiry = `${Math.round(ttlMs / 1000)} s`;
      return [label, name, `\`${key}\``, bytes, expiry, Math.round(used)];
    }),
  );
  const apart = instances.flatMap(({ label, apartPerMinute }) =>
    Object.entries(apartPerMinute).map(([command, perMinute]) => `${label} ${command} ${perMinute.toFixed(1)}`),
  );
  const documents = Object.entries(instances.find((entry) => entry.documents).documents);
  const catchUp = withRedis.map(({ label, idleCatchUp }) => `${listed(idleCatchUp)} (${label})`);
  const most = (field) => Math.max(...instances.flatMap(({ cpu }) => OPERATIONS.map((name) => cpu[name][field])));
  const runs = OPERATIONS.map((name) => `${CPU_RUNS[name][0]} × ${name} (${CPU_RUNS[name][1]} connections)`);
  return [
    `# Capacity figures, ${report.date.slice(0, 16).replace('T', ' ')} UTC`,
    `\`${report.command}\` (${report.minutes.toFixed(1)} min) on ${machine.cpuCount} × ${machine.cpuModel}, ` +
      `Node.js ${machine.node}, FerretDB ${report.ferretdb} on SQLite, Redis ${report.redis}, commit ` +
      `${machine.commit}. One production instance at a time (default limits, 15-minute access tokens, one ` +
      `access-log line per request), its database seeded to ${SEEDED_SESSIONS.toLocaleString('en-US')} sessions; ` +
      'every request from a client address of its own.',
    ...section(
      'CPU per request',
      `Milliseconds of CPU time (user + system, all threads, from /proc; Redis: INFO cpu) per request, not wall ` +
        `time, over ${ROUNDS} interleaved rounds after one more to warm up: ${runs.join(', ')}; refreshes as ` +
        'rotation chains, logins with argon2id at the production cost. "app ms per round": the cheapest and the ' +
        `dearest round. Processes this run did not start used ${most('other').toFixed(2)} cores at most ` +
        `meanwhile; the hypervisor stole ${most('steal').toFixed(2)}.`,
      ['instance', 'operation', 'requests', 'app ms', 'FerretDB ms', 'Redis ms', 'total ms', 'app ms per round'],
      cpuRows,
    ),
    ...section(
      'Database commands per operation',
      `Seen by the wire-protocol proxy between the instance and FerretDB over ${COUNTED} sequential operations of ` +
        'each kind, each kind in a window of its own. Reads: find, aggregate, count, distinct, getMore; writes: ' +
        'insert, update, delete, findAndModify.',
      ['instances', 'operation', 'reads', 'writes', 'commands (collection), per operation'],
      databaseRows,
    ),
    `Left out of these, per minute of counting (${Math.round(instances[0].countedSeconds)} s per instance): ` +
      `${apart.join('; ') || 'none'}. Background: timers (the revocation catch-up every 2 s in Redis mode; the ` +
      "purges, every minute or ten, may fall outside); handshake: the driver's own handshakes and monitoring.",
    ...section(
      'Redis calls per operation',
      'INFO commandstats calls gained over the same windows, on a Redis only this instance used. A command a Lua ' +
        "script or a MULTI runs counts on its own, besides EVAL or EXEC. The revocation catch-up's calls are left " +
        `out; in the ${IDLE_MS / 1000} quiet seconds after the ${COUNTED} logouts it sent ${catchUp.join(', ')}.`,
      ['operation', ...withRedis.map((entry) => entry.label)],
      redisRows,
    ),
    ...section(
      'Redis bytes per key',
      `MEMORY USAGE (SAMPLES 0) of each key, its expiry as written, and used_memory grown per key by writing ` +
        `${KEYS_WRITTEN.toLocaleString('en-US')} keys of its shape (hash-table and expiry entries included).`,
      ['instance', 'key', 'name', 'MEMORY USAGE bytes', 'expiry', 'used_memory bytes per key'],
      keyRows,
    ),
    ...section(
      'Database documents',
      'BSON bytes of the newest document of each kind, database mode (no index or storage overhead):',
      ['document', 'BSON bytes'],
      documents.map(([name, bytes]) => [name, bytes ?? '–']),
    ),
  ].join('\n\n');
}

async function main() {
  const started = Date.now();
  ferretdb = await startDatabase(processes, log);
  const secret = () => randomBytes(48).toString('base64url');
  const secrets = { ACCESS_TOKEN_SECRET: secret(), REFRESH_TOKEN_SECRET: secret() };
  const workDir = processes.tempDir('capacity-work-');
  const instances = [];
  for (const spec of INSTANCES) instances.push(await measureInstance(spec, { database: ferretdb, secrets, workDir }));
  return {
    date: new Date(started).toISOString(),
    command: process.env.npm_lifecycle_event ? `npm run ${process.env.npm_lifecycle_event}` : 'node bench/capacity.mjs',
    minutes: (Date.now() - started) / 60_000,
    machine: describeMachine(),
    ferretdb: ferretdb.version,
    redis: instances.find((entry) => entry.redisVersion)?.redisVersion,
    settings: { ENV, SEEDED_SESSIONS, CPU_RUNS, ROUNDS, COUNTED, KEYS_WRITTEN },
    instances,
  };
}

// Bounded whatever happens: an instance that stops answering must not keep the run, and its children, alive.
setTimeout(() => {
  console.error('capacity: still running after 20 min, giving up');
  process.exit(1);
}, 20 * 60_000).unref();
try {
  const report = await main();
  const text = await formatMarkdown(markdown(report));
  const stamp = report.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  for (const name of [`capacity-${stamp}`, 'capacity-latest']) {
    await writeFile(join(ROOT, 'bench', 'results', `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(join(ROOT, 'bench', 'results', `${name}.md`), text);
  }
  console.log(`${text}\nWritten: bench/results/capacity-${stamp}.{md,json} and capacity-latest.{md,json}`);
} catch (error) {
  console.error(`\ncapacity failed: ${error.stack ?? error}`);
  process.exitCode = 1;
} finally {
  await processes.stopChildren();
  await ferretdb?.stop().catch(() => undefined);
  processes.killNow();
}
