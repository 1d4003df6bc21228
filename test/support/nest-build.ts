import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectSuccess, runNode } from './run-node';

const ROOT = resolve(__dirname, '..', '..');
const OUTPUT = join(ROOT, 'test-output');
const BUILD_PREFIX = 'build-';
const STALE_BUILD_MS = 3_600_000;
const BUILD_TIMEOUT_MS = 180_000;

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await filesUnder(path)));
    else found.push(path);
  }
  return found.sort();
}

/** What the build depends on: src/, the compiler and Nest CLI settings and the installed packages. */
async function sourceKey(): Promise<string> {
  const hash = createHash('sha256');
  const files = [
    ...(await filesUnder(join(ROOT, 'src'))),
    ...['tsconfig.json', 'tsconfig.build.json', 'nest-cli.json', 'package-lock.json'].map((name) => join(ROOT, name)),
  ];
  for (const file of files) {
    hash.update(relative(ROOT, file)).update('\0');
    hash.update(await readFile(file).catch(() => Buffer.alloc(0))).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

async function pruneOldBuilds(keep: string): Promise<void> {
  const names = await readdir(OUTPUT).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(BUILD_PREFIX) || name.startsWith(keep)) continue;
    const path = join(OUTPUT, name);
    const info = await stat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > STALE_BUILD_MS) await rm(path, { recursive: true, force: true });
  }
}

/**
 * `nest build` into `outDir`, with the project's nest-cli.json (hence the Swagger plugin) and
 * tsconfig.build.json. It emits without type-checking (`noCheck`; the output is the same): the
 * typecheck project checks src/ in the same run, and a second check would be the build's larger half.
 */
async function nestBuild(workDir: string, outDir: string): Promise<void> {
  const tsconfig = join(workDir, 'tsconfig.json');
  await writeFile(
    tsconfig,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.build.json'),
      compilerOptions: { outDir, tsBuildInfoFile: join(outDir, '.tsbuildinfo'), noCheck: true },
    }),
  );
  // The Nest CLI takes the tsconfig path relative to the project root.
  const cli = join(ROOT, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js');
  expectSuccess(
    await runNode(cli, ['build', '-p', relative(ROOT, tsconfig)], process.env, BUILD_TIMEOUT_MS),
    'src/ does not build: nest build',
  );
}

/** No build holds its lock longer than this, whoever the pid in it names by now. */
const LOCK_HELD_AT_MOST_MS = BUILD_TIMEOUT_MS + 30_000;

/** Whether the lock was left by a build that is over (its process killed, or long gone). */
async function lockIsStale(lock: string): Promise<boolean> {
  const info = await stat(lock).catch(() => undefined);
  if (!info) return false;
  const age = Date.now() - info.mtimeMs;
  if (age > LOCK_HELD_AT_MOST_MS) return true;
  const pid = Number(await readFile(lock, 'utf8').catch(() => ''));
  // Created but not yet written: its writer is a moment away from it.
  if (!Number.isInteger(pid) || pid <= 0) return age > 5_000;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** A build that failed lately: the others waiting for it fail with its output instead of building again. */
async function recentFailure(failed: string): Promise<string | undefined> {
  const info = await stat(failed).catch(() => undefined);
  if (!info || Date.now() - info.mtimeMs > BUILD_TIMEOUT_MS) return undefined;
  return readFile(failed, 'utf8').catch(() => undefined);
}

/**
 * The `dist/` that `npm run build` makes from the current src/ (main.js, openapi/generate-openapi.js),
 * shared by every suite that runs the built app, in every Jest worker: one build per run, not one per
 * suite. The folder is named after a hash of what the output depends on, so a changed src/ is always
 * rebuilt. A lock file makes the other workers wait for the one building; should two build all the
 * same (a stale lock taken twice), the second finds the first's output and keeps it. The output is
 * written under another name and renamed, so nobody starts a half-written build.
 */
export async function builtDist(): Promise<string> {
  const name = `${BUILD_PREFIX}${await sourceKey()}`;
  const outDir = join(OUTPUT, name);
  const mainJs = join(outDir, 'main.js');
  const lock = join(OUTPUT, `${name}.lock`);
  const failed = join(OUTPUT, `${name}.failed`);
  await mkdir(OUTPUT, { recursive: true });
  const deadline = Date.now() + LOCK_HELD_AT_MOST_MS;
  while (!(await exists(mainJs))) {
    const failure = await recentFailure(failed);
    if (failure !== undefined) throw new Error(failure);
    if (Date.now() > deadline) throw new Error(`timed out waiting for the build in ${outDir}`);
    const taken = await writeFile(lock, String(process.pid), { flag: 'wx' }).then(
      () => true,
      () => false,
    );
    if (!taken) {
      if (await lockIsStale(lock)) await rm(lock, { force: true });
      else await sleep(250);
      continue;
    }
    if (await exists(mainJs)) {
      await rm(lock, { force: true });
      break;
    }
    const workDir = join(OUTPUT, `${name}.tmp-${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(workDir, { recursive: true });
      await nestBuild(workDir, join(workDir, 'dist')).catch(async (error: Error) => {
        await writeFile(failed, error.message);
        throw error;
      });
      await rename(join(workDir, 'dist'), outDir).catch(async (error: unknown) => {
        if (!(await exists(mainJs))) throw error;
      });
    } finally {
      await rm(workDir, { recursive: true, force: true });
      await rm(lock, { force: true });
    }
    await pruneOldBuilds(name);
  }
  // In use: pruning (by age) leaves it alone for another hour.
  const now = new Date();
  await utimes(outDir, now, now).catch(() => undefined);
  return outDir;
}
