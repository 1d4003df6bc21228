import { mkdtemp } from 'node:fs/promises';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { ensureFerretDbBinary, startFerretDb } from '../../src/database/embedded/ferretdb-server';
import { TEST_ENV } from './test-env';

/**
 * Starts FerretDB on a free port in a temporary folder for the whole run, unless MONGODB_URI points
 * at a server already. Jest workers inherit the variables set here.
 */
export default async function globalSetup(): Promise<void> {
  const cacheDir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'secure-logout-jwt');
  const log = (message: string) => process.stderr.write(`\n[test database] ${message}\n`);
  const binary = await ensureFerretDbBinary(cacheDir, log);
  process.env[TEST_ENV.ferretDbBinary] = binary;

  if (process.env.MONGODB_URI) {
    log(`using MONGODB_URI ${process.env.MONGODB_URI.replace(/\/\/[^@/]*@/, '//***@')}`);
    return;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'slj-test-db-'));
  const server = await startFerretDb({ binary, dataDir });
  process.env.MONGODB_URI = server.uri;
  process.env[TEST_ENV.ownedDataDir] = dataDir;
  (globalThis as { __testDatabase?: typeof server }).__testDatabase = server;
  log(`FerretDB on ${server.uri} (data in ${dataDir})`);
}
