import { join, resolve } from 'node:path';
import { expectSuccess, runNode } from '../support/run-node';

const ROOT = resolve(__dirname, '..', '..');

/**
 * `tsc --noEmit` over everything tsconfig.json includes (src, test, dev): the tests' compiler (SWC)
 * strips types without checking them. It runs as a test of its own so that it overlaps the other
 * suites instead of holding the whole run back; its diagnostics are the failure message.
 */
describe('type-check', () => {
  it('tsc --noEmit -p tsconfig.json reports no error', async () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    expectSuccess(await runNode(tsc, ['--noEmit', '-p', join(ROOT, 'tsconfig.json')], process.env, 170_000), 'tsc');
  }, 180_000);
});
