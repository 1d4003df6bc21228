import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, chmod, cp, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { applyFerretDbSourcePatch, FERRETDB_PATCH_LEVEL } from './ferretdb-source-patch';

/**
 * FerretDB is a MongoDB-wire-compatible server written in Go that stores its data in SQLite. It is the
 * development and test database on machines that can reach the Go module proxy but not MongoDB's
 * download site. Used by `npm start` (through EmbeddedDatabaseService) and by the test setup.
 */
export const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';

const execFileAsync = promisify(execFile);
type Log = (message: string) => void;

export class EmbeddedDatabaseUnavailableError extends Error {
  override name = 'EmbeddedDatabaseUnavailableError';
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function isGoAvailable(): Promise<boolean> {
  try {
    await execFileAsync('go', ['version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns the path of a FerretDB binary, building it with Go on first use.
 *
 * A plain `go install .../cmd/ferretdb@v1.24.2` builds a binary that panics at start-up, because
 * FerretDB's release builds embed a generated `build/version/version.txt` that the module zip does
 * not contain. So the module source is fetched through the Go module proxy, the file is written the
 * way FerretDB's own docs describe, a small patch is applied (ferretdb-source-patch.ts: lookups by
 * `_id` use the `_id` index), and `cmd/ferretdb` is built from that copy. The cache folder names the
 * patch level, so a binary built without the current patch is never reused.
 */
export async function ensureFerretDbBinary(cacheDir: string, log: Log): Promise<string> {
  const build = `${FERRETDB_VERSION}-p${FERRETDB_PATCH_LEVEL}`;
  const installDir = join(cacheDir, `ferretdb-${build}`);
  const binary = join(installDir, 'ferretdb');
  if (await isExecutable(binary)) return binary;
  if (!(await isGoAvailable())) {
    throw new EmbeddedDatabaseUnavailableError(
      'No MONGODB_URI is set and Go is not installed, so the embedded FerretDB cannot be built. ' +
        'Set MONGODB_URI to a MongoDB server, install Go, or `npm install --no-save mongodb-memory-server` ' +
        'on a machine that can download MongoDB.',
    );
  }

  log(`Building FerretDB ${build} (patched) with Go into ${installDir} (first run only, about 2 minutes)...`);
  const { stdout } = await execFileAsync('go', ['mod', 'download', '-json', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`], {
    timeout: 10 * 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const moduleDir = (JSON.parse(stdout) as { Dir?: string }).Dir;
  if (!moduleDir) throw new EmbeddedDatabaseUnavailableError(`go mod download gave no source folder for FerretDB`);

  const workDir = await mkdtemp(join(tmpdir(), 'ferretdb-build-'));
  try {
    const sourceDir = join(workDir, 'src');
    await cp(moduleDir, sourceDir, { recursive: true });
    // The module cache is read-only; the copy keeps those modes.
    await chmod(join(sourceDir, 'build', 'version'), 0o755);
    await writeFile(join(sourceDir, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    // Lookups by _id use the _id index; query results never depend on it (see the patch module).
    await applyFerretDbSourcePatch(sourceDir);
    const builtBinary = join(workDir, 'ferretdb');
    await execFileAsync('go', ['build', '-mod=mod', '-trimpath', '-o', builtBinary, './cmd/ferretdb'], {
      cwd: sourceDir,
      timeout: 20 * 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    await mkdir(installDir, { recursive: true });
    // Rename is atomic: a concurrent build or start never sees half a binary.
    await rename(builtBinary, binary);
  } finally {
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
  log(`FerretDB ${build} built: ${binary}`);
  return binary;
}

export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Whether something accepts TCP connections there (the servers we start are ready when it does). */
export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once('error', () => resolveConnect(false));
  });
}

export interface RunningFerretDb {
  readonly uri: string;
  readonly port: number;
  readonly dataDir: string;
  stop(): Promise<void>;
}

export interface StartFerretDbOptions {
  binary: string;
  dataDir: string;
  port?: number;
  host?: string;
  /** Database name put in the returned URI. */
  database?: string;
  startTimeoutMs?: number;
}

export async function startFerretDb(options: StartFerretDbOptions): Promise<RunningFerretDb> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await findFreePort(host));
  await mkdir(options.dataDir, { recursive: true });
  const child: ChildProcess = spawn(
    options.binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${options.dataDir}/`,
      `--state-dir=${options.dataDir}`,
      `--listen-addr=${host}:${port}`,
      // Without this every instance binds 127.0.0.1:8088 and parallel runs collide.
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let exited = false;
  const exitPromise = new Promise<void>((resolveExit) =>
    child.once('exit', () => {
      exited = true;
      process.removeListener('exit', killOnExit);
      resolveExit();
    }),
  );

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (!(await canConnect(host, port))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new EmbeddedDatabaseUnavailableError(
        `FerretDB did not start on ${host}:${port}${exited ? ` (exit code ${child.exitCode})` : ''}: ${output.trim()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    uri: `mongodb://${host}:${port}/${options.database ?? ''}`,
    port,
    dataDir: options.dataDir,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
