import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolCacheDirFor } from '../../src/config/environment';
import { ensureFerretDbBinary, startFerretDb } from '../../dev/embedded-database/ferretdb-server';
import { ensureCaddyBinary } from './caddy-binary';
import { ensureDebianPackage } from './debian-package';
import { ensureRedisServer, startRedis } from './redis-server';
import { TEST_ENV } from './test-env';

/**
 * Starts FerretDB (unless MONGODB_URI points at a server) and Redis (unless REDIS_URL does) on free
 * ports in temporary folders for the whole run, and makes sure the proxies of test/proxies are there
 * (Debian's nginx; Caddy built with Go). Jest workers inherit the variables set here.
 */
export default async function globalSetup(): Promise<void> {
  const cacheDir = toolCacheDirFor(process.env.XDG_CACHE_HOME || undefined);
  const log = (message: string) => process.stderr.write(`\n[test setup] ${message}\n`);
  const [binary, caddy] = await Promise.all([
    ensureFerretDbBinary(cacheDir, log),
    ensureCaddyBinary(cacheDir, log),
    ensureDebianPackage('nginx', ['-v'], 'nginx', log),
  ]);
  process.env[TEST_ENV.ferretDbBinary] = binary;
  process.env[TEST_ENV.caddyBinary] = caddy;

  // Redis for the suites that run in Redis mode (they pass it as REDIS_URL to their apps).
  if (process.env.REDIS_URL) {
    process.env[TEST_ENV.redisUrl] = process.env.REDIS_URL;
  } else {
    await ensureRedisServer(log);
    const redis = await startRedis();
    process.env[TEST_ENV.redisUrl] = redis.url;
    (globalThis as { __testRedis?: typeof redis }).__testRedis = redis;
    log(`Redis on ${redis.url}`);
  }
  // Apps choose their mode per suite: REDIS_URL is never inherited by accident.
  delete process.env.REDIS_URL;

  if (process.env.MONGODB_URI) {
    log(`using MONGODB_URI ${process.env.MONGODB_URI.replace(/\/\/[^@/]*@/, '//***@')}`);
    return;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'slj-test-db-'));
  const server = await startFerretDb({ binary, dataDir });
  process.env.MONGODB_URI = server.uri;
  process.env[TEST_ENV.ownedDataDir] = dataDir;
  (globalThis as { __testDatabase?: typeof server }).__testDatabase = server;
  log(`FerretDB on ${server.uri} (data in ${dataDir})`);
}
