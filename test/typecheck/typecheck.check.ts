import { join, resolve } from 'node:path';
import { expectSuccess, runNode } from '../support/run-node';

const ROOT = resolve(__dirname, '..', '..');

/**
 * The type-check of everything tsconfig.json includes (src, test, dev): the tests' compiler (SWC)
 * strips types without checking them, and the build the spawned-server suites use emits without
 * checking. TypeScript 7 (the native compiler, `typescript-native`) with test/typecheck/tsconfig.json.
 * It runs as a test of its own so that it overlaps the other suites instead of holding the whole run
 * back; its diagnostics are the failure message.
 */
describe('type-check', () => {
  it('tsc -p test/typecheck/tsconfig.json reports no error', async () => {
    const tsc = join(ROOT, 'node_modules', 'typescript-native', 'bin', 'tsc');
    const config = join(ROOT, 'test', 'typecheck', 'tsconfig.json');
    expectSuccess(await runNode(tsc, ['-p', config], process.env, 170_000), 'tsc');
  }, 180_000);
});
