import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

/**
 * `tsc --noEmit` over everything tsconfig.json includes (src, test, dev): the tests' compiler (SWC)
 * strips types without checking them. It runs as a test of its own so that it overlaps the other
 * suites instead of holding the whole run back; its diagnostics are the failure message.
 */
describe('type-check', () => {
  it('tsc --noEmit -p tsconfig.json reports no error', async () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await new Promise<{ code: number; output: string }>((done) => {
      execFile(
        process.execPath,
        [tsc, '--noEmit', '-p', join(ROOT, 'tsconfig.json')],
        { cwd: ROOT, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) =>
          done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` }),
      );
    });
    if (result.code !== 0) throw new Error(`tsc exited with ${result.code}:\n${result.output}`);
  }, 180_000);
});
