import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { testHttpAdapter } from './http-adapter';

const execFileAsync = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');

/**
 * Compiles src/ with tsc into a folder of its own under test-output/ (inside the project, so that
 * node_modules resolves), for tests that must run the real `node main.js` process.
 */
export async function buildServer(): Promise<{ mainJs: string; cleanup: () => Promise<void> }> {
  const outDir = join(ROOT, 'test-output', `build-${randomBytes(4).toString('hex')}`);
  await mkdir(outDir, { recursive: true });
  await execFileAsync(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(ROOT, 'tsconfig.build.json'),
      '--outDir',
      outDir,
      '--tsBuildInfoFile',
      join(outDir, '.tsbuildinfo'),
    ],
    { cwd: ROOT, timeout: 120_000 },
  );
  return { mainJs: join(outDir, 'main.js'), cleanup: () => rm(outDir, { recursive: true, force: true }) };
}

export interface ServerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Resolves when the output matches, rejects when the process exits first or time runs out. */
  waitForOutput: (pattern: RegExp, timeoutMs?: number) => Promise<void>;
}

export function runServer(mainJs: string, env: Record<string, string | undefined>): ServerProcess {
  const childEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries({
    ...process.env,
    NO_COLOR: '1',
    HTTP_ADAPTER: testHttpAdapter(),
    ...env,
  })) {
    if (value !== undefined) childEnv[name] = value;
  }
  const child = spawn(process.execPath, [mainJs], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  return {
    child,
    output: () => output,
    exited,
    async waitForOutput(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (hasExited) throw new Error(`process exited before printing ${pattern}:\n${output}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}
