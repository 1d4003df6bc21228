/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: Jest require()s its sequencer */
const Sequencer = require('@jest/test-sequencer').default;
const { relative } = require('node:path');

/**
 * Seconds the longest suites take on two cores. Jest runs the longest files first when it has timed
 * them in an earlier run; on a fresh clone it has not, and it falls back on file size, which would
 * start some of the longest files last and leave the other workers idle at the end.
 */
const EXPECTED_SECONDS = {
  'test/typecheck/typecheck.check.ts': 8,
  'test/faults/redis-outage.e2e-spec.ts': 50,
  'test/explorer/swagger-ui.e2e-spec.ts': 34,
  'test/startup.e2e-spec.ts': 30,
  'test/faults/database-outage.e2e-spec.ts': 22,
  'test/proxies/caddy.e2e-spec.ts': 20,
  'test/multi-instance.e2e-spec.ts': 22,
  'test/faults/redis-cluster-failover.e2e-spec.ts': 12,
  'test/faults/redis-sentinel-failover.e2e-spec.ts': 12,
  'test/openapi/openapi.e2e-spec.ts': 16,
  'test/proxies/browser.e2e-spec.ts': 15,
  'test/database/embedded-database-lifecycle.e2e-spec.ts': 15,
  'test/security/hashing-races.e2e-spec.ts': 60,
  'test/session-state.e2e-spec.ts': 40,
  'test/security/attacks.e2e-spec.ts': 40,
  'test/adapters/http-edges.adapter-spec.ts': 30,
  'test/adapters/cookies-and-tokens.adapter-spec.ts': 25,
  'test/adapters/proxies-and-lifecycle.adapter-spec.ts': 30,
};
/** Any other file: an e2e suite boots an app or two, a unit spec does not. */
const OTHER_E2E_SECONDS = 8;
const OTHER_SECONDS = 1;

/** @typedef {Awaited<ReturnType<InstanceType<typeof Sequencer>['sort']>>} Tests */

/** @param {Tests[number]} test */
function expectedMs(test) {
  const path = relative(test.context.config.rootDir, test.path);
  const known = /** @type {Record<string, number>} */ (EXPECTED_SECONDS)[path];
  return (known ?? (/\.(e2e|adapter)-spec\.ts$/.test(path) ? OTHER_E2E_SECONDS : OTHER_SECONDS)) * 1000;
}

class SlowFirstSequencer extends Sequencer {
  /**
   * @override
   * @param {Tests} tests
   */
  async sort(tests) {
    // Jest's sort records the duration of each file it has timed before; the others get an estimate.
    const sorted = await super.sort(tests);
    const ms = (/** @type {Tests[number]} */ test) => test.duration ?? expectedMs(test);
    return [...sorted].sort((a, b) => ms(b) - ms(a));
  }
}

module.exports = SlowFirstSequencer;
