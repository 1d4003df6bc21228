import { ensureCaddyBinary } from './caddy-binary';
import databaseSetup, { setupLog, toolCacheDir } from './database-setup';
import { ensureDebianPackage } from './debian-package';
import { ensureRedisServer, startRedis } from './redis-server';
import { TEST_ENV } from './test-env';

/**
 * Global setup of the e2e projects: the database, Redis (unless REDIS_URL points at one) on a free
 * port, and the proxies of test/proxies (Debian's nginx; Caddy built with Go). Jest workers inherit
 * the variables set here.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env[TEST_ENV.redisUrl]) return;
  const [caddy] = await Promise.all([
    ensureCaddyBinary(toolCacheDir(), setupLog),
    ensureDebianPackage('nginx', ['-v'], 'nginx', setupLog),
    databaseSetup(),
  ]);
  process.env[TEST_ENV.caddyBinary] = caddy;

  // Redis for the suites that run in Redis mode (they pass it as REDIS_URL to their apps).
  if (process.env.REDIS_URL) {
    process.env[TEST_ENV.redisUrl] = process.env.REDIS_URL;
  } else {
    await ensureRedisServer(setupLog);
    const redis = await startRedis();
    process.env[TEST_ENV.redisUrl] = redis.url;
    (globalThis as { __testRedis?: typeof redis }).__testRedis = redis;
    setupLog(`Redis on ${redis.url}`);
  }
  // Apps choose their mode per suite: REDIS_URL is never inherited by accident.
  delete process.env.REDIS_URL;
}
