// The cost of checking revocation on every request, alone: GET /health/live (no guard, no lookup) against
// GET /api/auth/verify with a live token on the same production instance, with the revocation state in
// the database and in Redis. `npm run bench` measures this too, on both HTTP adapters and beside the
// baselines; this one takes about a minute and a half and runs on the adapter HTTP_ADAPTER names.
//
//   npm run bench:revocation [-- --rounds 3 --duration 5 --connections 20]
//   HTTP_ADAPTER=fastify npm run bench:revocation
import { randomBytes } from 'node:crypto';
import { startAppInstance } from './lib/apps.mjs';
import { measureInterleaved } from './lib/measure.mjs';
import { parseOptions, USAGE } from './lib/options.mjs';
import { ProcessSet, startDatabase, startRedis } from './lib/processes.mjs';
import { formatMarkdown } from './lib/report.mjs';

const log = (message) => console.error(`[revocation-check] ${message}`);
let options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  console.error(`${error.message}\n\n${USAGE}`);
  process.exit(2);
}
const adapter = process.env.HTTP_ADAPTER === 'fastify' ? 'fastify' : 'express';
const processes = new ProcessSet();
let database;

async function main() {
  database = await startDatabase(processes, log);
  const redis = await startRedis(processes);
  const secrets = {
    ACCESS_TOKEN_SECRET: randomBytes(48).toString('base64url'),
    REFRESH_TOKEN_SECRET: randomBytes(48).toString('base64url'),
  };
  const context = {
    databaseUri: database.uri,
    redisUrl: redis.url,
    secrets,
    workDir: processes.tempDir('bench-work-'),
  };
  const scenarios = [];
  for (const [mode, useRedis] of [
    ['database', false],
    ['Redis', true],
  ]) {
    const instance = await startAppInstance(
      processes,
      {
        id: `${adapter}-${useRedis ? 'redis' : 'db'}`,
        label: `${adapter}, revocation in ${mode}`,
        adapter,
        redis: useRedis,
      },
      context,
    );
    scenarios.push(
      {
        id: `${instance.id}-live`,
        label: `GET /health/live (${instance.label})`,
        pid: instance.pid,
        load: { url: `${instance.base}/health/live` },
      },
      {
        id: `${instance.id}-verify`,
        label: `GET /api/auth/verify (${instance.label})`,
        pid: instance.pid,
        load: { url: `${instance.base}/api/auth/verify`, headers: { authorization: `Bearer ${instance.token}` } },
      },
    );
  }
  const services = { ferretdbPid: database.pid, redisPid: redis.pid };
  const results = await measureInterleaved(scenarios, { ...options, services, log, phase: 'revocation check' });
  const rows = results.map((row, index) => {
    const live = results[index - (index % 2)];
    return `| ${row.label} | ${Math.round(row.rps)} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${(row.rps / live.rps).toFixed(2)}× |`;
  });
  console.log(
    await formatMarkdown(
      [
        `${options.connections} connections, median of ${options.rounds} interleaved rounds × ${options.durationS} s`,
        '',
        '| scenario | req/s | p50 ms | p99 ms | × /health/live of the same instance |',
        '| --- | ---: | ---: | ---: | ---: |',
        ...rows,
      ].join('\n'),
    ),
  );
}

try {
  await main();
} catch (error) {
  console.error(`revocation-check failed: ${error.stack ?? error}`);
  process.exitCode = 1;
} finally {
  await processes.stopChildren();
  await database?.stop().catch(() => undefined);
  processes.killNow();
}
