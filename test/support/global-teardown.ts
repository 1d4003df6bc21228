import { rm } from 'node:fs/promises';
import type { RunningFerretDb } from '../../dev/embedded-database/ferretdb-server';
import type { RunningRedis } from './redis-server';
import { TEST_ENV } from './test-env';

/** Stops what the global setups started; runs once however many projects name it. */
export default async function globalTeardown(): Promise<void> {
  const started = globalThis as { __testDatabase?: RunningFerretDb; __testRedis?: RunningRedis };
  await started.__testDatabase?.stop();
  await started.__testRedis?.stop();
  started.__testDatabase = undefined;
  started.__testRedis = undefined;
  const dataDir = process.env[TEST_ENV.ownedDataDir];
  delete process.env[TEST_ENV.ownedDataDir];
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}
