/** @type {import('jest').Config} */
/**
 * TypeScript compiled by SWC: what the tests run is emitted file by file (tsconfig.json has
 * isolatedModules), with the decorator metadata Nest's DI reads. Types are checked by the typecheck
 * project, once.
 */
const tsJest = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: true },
      target: 'es2023',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

/**
 * jose ships ES modules only. Node.js 20.19+ require()s them natively; Jest's module loader does not, so
 * SWC turns them into CommonJS for the tests.
 */
const esmOnlyPackages = ['jose'];
const esmToCommonJs = ['@swc/jest', { jsc: { target: 'es2023' }, module: { type: 'commonjs' } }];

/** What every project shares: TypeScript compiled by SWC, in Node.js. */
const project = {
  rootDir: '.',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': tsJest, [`/node_modules/(${esmOnlyPackages.join('|')})/.+\\.js$`]: esmToCommonJs },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnlyPackages.join('|')})/)`],
  // The workspace's guard package from its sources, as the example service imports it.
  moduleNameMapper: { '^nest-auth-guard$': '<rootDir>/packages/nest-auth-guard/src' },
};

/**
 * What both e2e projects share: the run's database, Redis and proxies (test/support/global-setup.ts),
 * started once per run, and a rate-limit window of its own for each test.
 */
const e2eProject = {
  ...project,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/test/support/fresh-rate-window.ts'],
};

/**
 * The e2e suites where the adapter makes a difference (cookies, headers, bodies, errors, routing, static
 * files, logging, shutdown, one real proxy): files named *.e2e-suite.ts, run several to a file by
 * test/adapters/, in both e2e projects. Each Jest file spends more than a second of CPU loading the
 * application's modules afresh, and these suites run twice.
 */
const ADAPTER_SUITES = '<rootDir>/test/adapters/*.adapter-spec.ts';

module.exports = {
  // Global options (ignored inside projects): e2e tests boot apps and hash passwords.
  testTimeout: 60_000,
  // The suites wait on child processes, sockets and timers much of their time: three files at once keep
  // two cores busy (Jest's default on two cores is one file at a time).
  maxWorkers: 3,
  testSequencer: '<rootDir>/test/support/slow-first-sequencer.js',
  projects: [
    // The type-check of every file tsconfig.json includes, alongside the other suites.
    { ...project, displayName: 'typecheck', testMatch: ['<rootDir>/test/typecheck/typecheck.check.ts'] },
    {
      ...project,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/dev/**/*.spec.ts', '<rootDir>/packages/*/src/**/*.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.int-spec\\.ts$'],
    },
    // Repositories against the real database (one per run, test/support/database-setup.ts).
    {
      ...project,
      displayName: 'integration',
      testMatch: ['<rootDir>/src/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/support/database-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    { ...e2eProject, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts', ADAPTER_SUITES] },
    // The same suites of test/adapters/ on HTTP_ADAPTER=fastify. The other e2e files exercise state
    // behind the HTTP layer, which is the same code on both adapters.
    {
      ...e2eProject,
      displayName: 'e2e-fastify',
      testMatch: [ADAPTER_SUITES],
      setupFiles: ['<rootDir>/test/support/use-fastify.ts'],
    },
  ],
};
