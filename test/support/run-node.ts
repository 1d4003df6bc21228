import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

export interface NodeRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node <script> ...args` in the project root; never rejects, the caller checks the code. */
export function runNode(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 120_000,
): Promise<NodeRun> {
  return new Promise((resolveRun) => {
    execFile(
      process.execPath,
      [script, ...args],
      { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolveRun({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Fails with the command's output unless it exited with 0. */
export function expectSuccess(run: NodeRun, what: string): void {
  if (run.code !== 0) throw new Error(`${what} exited with ${run.code}:\n${run.stdout}${run.stderr}`);
}
