import { spawn } from 'node:child_process';
import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { canConnect } from '../../dev/embedded-database/ferretdb-server';
import { findFreePort } from '../support/free-port';
import { builtMainJs, developmentStartEnv, runServer, type ServerProcess } from '../support/built-server';
import { TEST_ENV } from '../support/test-env';

const ROOT = resolve(__dirname, '..', '..');

/** Pids of the processes whose environment holds NAME=value (readable for our own processes). */
async function processesWithEnvironment(name: string, value: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (environ.split('\0').includes(`${name}=${value}`)) found.push(Number(entry));
  }
  return found;
}

/** Pids of the running FerretDB processes serving that data folder (a zombie has no command line). */
async function ferretDbsOn(dataDir: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (args[0]?.endsWith('/ferretdb') && args.includes(`--state-dir=${dataDir}`)) found.push(Number(entry));
  }
  return found;
}

async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Reads processes through /proc: the suite, like CI, runs on Linux.
describe('embedded development database (dev/embedded-database)', () => {
  const folders: string[] = [];
  const tempFolder = async (prefix: string) => {
    const folder = await mkdtemp(join(tmpdir(), prefix));
    folders.push(folder);
    return folder;
  };
  afterAll(async () => {
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
  });

  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s during a first-run build stops the go processes and removes the temporary folder',
    async (signal) => {
      const cacheDir = await tempFolder('slj-build-cache-');
      // An empty compile cache of its own: the build is certainly still compiling when the signal comes,
      // and every go process of this build carries it in its environment.
      const goCache = join(cacheDir, 'go-build-cache');
      const script = `require(${JSON.stringify(join(ROOT, 'dev/embedded-database/ferretdb-server.js'))})
        .ensureFerretDbBinary(process.argv[1], (line) => process.stderr.write(line + '\\n'))
        .then(() => process.exit(0), (error) => { process.stderr.write(String(error) + '\\n'); process.exit(1); });`;
      const child = spawn(process.execPath, ['-e', script, cacheDir], {
        env: { ...process.env, GOCACHE: goCache },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let output = '';
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
        child.once('exit', (code, exitSignal) => done({ code, signal: exitSignal })),
      );
      try {
        await waitFor(() => output.includes('[3/3] compiling'), 20_000, `the compile step:\n${output}`);
        // The progress lines came while the build ran, not after it.
        expect(output).toMatch(/building FerretDB v1\.24\.2 \(patch level \d+\) from source/);
        expect(output).toContain('[1/3] fetching');
        await waitFor(
          async () => (await processesWithEnvironment('GOCACHE', goCache)).length > 1,
          10_000,
          'go and a compiler to run',
        );
        expect((await readdir(cacheDir)).some((name) => name.startsWith('ferretdb-build-'))).toBe(true);

        child.kill(signal);
        const { code, signal: exitSignal } = await exited;

        // Ended by the signal (or with 128 + its number), as it would have without the build.
        expect(exitSignal === signal || code === 128 + (signal === 'SIGINT' ? 2 : 15)).toBe(true);
        expect(output).toContain(`FerretDB build stopped (${signal}): go processes ended, temporary folder removed`);
        expect(await processesWithEnvironment('GOCACHE', goCache)).toEqual([]);
        const left = (await readdir(cacheDir)).filter((name) => name !== 'go-build-cache');
        expect(left).toEqual([]);
      } finally {
        child.kill('SIGKILL');
      }
    },
    30_000,
  );

  it('two starts at once on one data folder: one serves it, the other is refused', async () => {
    const binary = process.env[TEST_ENV.ferretDbBinary];
    if (!binary) throw new Error(`${TEST_ENV.ferretDbBinary} is not set: run through Jest's global setup`);
    const dataDir = await tempFolder('slj-embedded-race-');
    // Each child loads the module, says "ready", and starts FerretDB when its standard input says go;
    // it reports the outcome as one JSON line and stops its FerretDB when its standard input ends.
    const script = `const { startFerretDb } = require(${JSON.stringify(join(ROOT, 'dev/embedded-database/ferretdb-server.js'))});
      const [binary, dataDir] = process.argv.slice(1);
      process.stdout.write('ready\\n');
      process.stdin.once('data', () =>
        startFerretDb({ binary, dataDir, log: () => {} }).then(
          (server) => {
            process.stdout.write(JSON.stringify({ pid: server.pid }) + '\\n');
            process.stdin.once('end', () => server.stop().then(() => process.exit(0)));
          },
          (error) => {
            process.stdout.write(JSON.stringify({ error: String(error) }) + '\\n');
            process.exit(0);
          },
        ),
      );`;
    const starters = [0, 1].map(() => {
      const child = spawn(process.execPath, ['-e', script, binary, dataDir], { stdio: ['pipe', 'pipe', 'inherit'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((done) => child.once('exit', done));
      const outcome = async () => {
        await waitFor(() => output.split('\n').length > 2, 10_000, `the outcome of a start:\n${output}`);
        return JSON.parse(output.split('\n')[1]) as { pid?: number; error?: string };
      };
      return { child, exited, outcome, ready: () => output.startsWith('ready\n') };
    });
    try {
      await waitFor(() => starters.every((starter) => starter.ready()), 10_000, 'both starters to load');
      for (const starter of starters) starter.child.stdin.write('go\n');
      const outcomes = await Promise.all(starters.map((starter) => starter.outcome()));

      const served = outcomes.filter((outcome) => outcome.pid !== undefined);
      const refused = outcomes.filter((outcome) => outcome.error !== undefined);
      expect(served).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect(refused[0].error).toContain(dataDir);
      expect(refused[0].error).toMatch(
        /^EmbeddedDatabaseUnavailableError: .* in use by process \d+, which is still running/,
      );
      expect(await ferretDbsOn(dataDir)).toEqual([served[0].pid]);

      // Stopping releases the folder: no FerretDB and no lock are left.
      for (const starter of starters) starter.child.stdin.end();
      expect(await Promise.all(starters.map((starter) => starter.exited))).toEqual([0, 0]);
      expect(await ferretDbsOn(dataDir)).toEqual([]);
      await expect(access(join(dataDir, 'ferretdb.pid'))).rejects.toThrow();
    } finally {
      for (const starter of starters) starter.child.kill('SIGKILL');
      // A SIGKILLed starter leaves its FerretDB behind.
      for (const pid of await ferretDbsOn(dataDir)) process.kill(pid, 'SIGKILL');
    }
  }, 15_000);

  describe('an app killed with SIGKILL', () => {
    let mainJs: string;
    const servers: ServerProcess[] = [];
    beforeAll(async () => {
      mainJs = await builtMainJs();
    }, 180_000);
    afterAll(async () => {
      for (const server of servers) server.child.kill('SIGKILL');
    });

    const startDevelopmentApp = async (dataDir: string) => {
      const port = await findFreePort();
      const server = runServer(mainJs, { ...developmentStartEnv(dataDir, port), LOG_FORMAT: undefined });
      servers.push(server);
      await server.waitForOutput(/Listening on http:\/\/127\.0\.0\.1:/, 60_000);
      return { server, port };
    };

    it('leaves its FerretDB running; the next start stops it first, so that only one serves the data folder', async () => {
      const dataDir = await tempFolder('slj-embedded-');
      const first = await startDevelopmentApp(dataDir);
      const [orphan] = await ferretDbsOn(dataDir);
      expect(orphan).toBeDefined();

      first.server.child.kill('SIGKILL');
      await first.server.exited;
      // SIGKILL gives the app no chance to stop it.
      expect(await ferretDbsOn(dataDir)).toEqual([orphan]);

      const second = await startDevelopmentApp(dataDir);
      expect(second.server.output()).toContain(`stopping FerretDB pid ${orphan}, left running on ${dataDir}`);
      const running = await ferretDbsOn(dataDir);
      expect(running).toHaveLength(1);
      expect(running[0]).not.toBe(orphan);

      const register = await fetch(`http://127.0.0.1:${second.port}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'after_restart', password: 'password-123' }),
      });
      expect(register.status).toBe(201);

      second.server.child.kill('SIGTERM');
      expect(await second.server.exited).toBe(0);
      expect(await ferretDbsOn(dataDir)).toEqual([]);
      const embeddedPort = Number(
        /started embedded FerretDB at mongodb:\/\/127\.0\.0\.1:(\d+)/.exec(second.server.output())?.[1],
      );
      expect(await canConnect('127.0.0.1', embeddedPort)).toBe(false);
    }, 120_000);
  });
});
