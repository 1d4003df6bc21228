import { constants } from 'node:fs';
import { access, mkdtemp, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolCacheDirFor } from '../../src/config/environment';
import { ensureFerretDbBinary, startFerretDb } from '../../dev/embedded-database/ferretdb-server';
import { TEST_ENV } from './test-env';

export const setupLog = (message: string) => process.stderr.write(`\n[test setup] ${message}\n`);

export function toolCacheDir(): string {
  return toolCacheDirFor(process.env.XDG_CACHE_HOME || undefined);
}

/** A container's default /dev/shm (64 MiB) is too small for a run's databases. */
const MIN_SCRATCH_BYTES = 2 * 1024 ** 3;

/**
 * The run's data is thrown away afterwards: in memory (/dev/shm) where there is one, so that no
 * write of the tests waits for a disk; else the temporary folder.
 */
async function scratchDir(): Promise<string> {
  const inMemory = '/dev/shm';
  const usable = await access(inMemory, constants.W_OK)
    .then(() => statfs(inMemory))
    .then((fs) => fs.bavail * fs.bsize >= MIN_SCRATCH_BYTES)
    .catch(() => false);
  return usable ? inMemory : tmpdir();
}

/**
 * Global setup of the projects that need a database: FerretDB (unless MONGODB_URI points at a
 * server) on a free port in a scratch folder (scratchDir), for the whole run. Jest workers inherit the variables
 * set here. Runs once however many projects name it.
 */
export default async function databaseSetup(): Promise<void> {
  if (process.env[TEST_ENV.ferretDbBinary]) return;
  const binary = await ensureFerretDbBinary(toolCacheDir(), setupLog);
  process.env[TEST_ENV.ferretDbBinary] = binary;

  if (process.env.MONGODB_URI) {
    setupLog(`using MONGODB_URI ${process.env.MONGODB_URI.replace(/\/\/[^@/]*@/, '//***@')}`);
    return;
  }
  const dataDir = await mkdtemp(join(await scratchDir(), 'slj-test-db-'));
  const server = await startFerretDb({ binary, dataDir });
  process.env.MONGODB_URI = server.uri;
  process.env[TEST_ENV.ownedDataDir] = dataDir;
  (globalThis as { __testDatabase?: typeof server }).__testDatabase = server;
  setupLog(`FerretDB on ${server.uri} (data in ${dataDir})`);
}
