/** Variables the test setup passes to the test files (not read by the application). */
export const TEST_ENV = {
  ferretDbBinary: 'SLJ_TEST_FERRETDB_BIN',
  ownedDataDir: 'SLJ_TEST_DB_DIR',
  /** Caddy, built by the global setup, for test/proxies. */
  caddyBinary: 'SLJ_TEST_CADDY_BIN',
  /** The run's Redis; suites in Redis mode pass it to their apps as REDIS_URL. */
  redisUrl: 'SLJ_TEST_REDIS_URL',
  /** express or fastify: set per Jest project, so that every e2e suite runs on both adapters. */
  httpAdapter: 'SLJ_TEST_HTTP_ADAPTER',
} as const;
