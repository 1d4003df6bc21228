/** @type {import('jest').Config} */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

module.exports = {
  // Global option (ignored inside projects): e2e tests boot apps and hash passwords.
  testTimeout: 60_000,
  // One MongoDB-wire server for the whole run (FerretDB, or MONGODB_URI when set); each e2e file
  // works in its own database on it.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  projects: [
    {
      displayName: 'unit',
      rootDir: '.',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/dev/**/*.spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
    {
      displayName: 'e2e',
      rootDir: '.',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
    // The same suites on HTTP_ADAPTER=fastify: every contract point must hold on both adapters. Attacks
    // on state shared between requests (races, throttles, hashing, Redis faults) do not depend on the
    // adapter and run once.
    {
      displayName: 'e2e-fastify',
      rootDir: '.',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      testPathIgnorePatterns: [
        '/node_modules/',
        '<rootDir>/test/(security/(credential-races|redis-write-faults|throttle-races|hashing-flood)|database/(query-plans|recent-revocations))\\.e2e-spec\\.ts$',
      ],
      setupFiles: ['<rootDir>/test/support/use-fastify.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
  ],
};
