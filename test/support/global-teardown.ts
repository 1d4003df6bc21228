import { rm } from 'node:fs/promises';
import type { RunningFerretDb } from '../../dev/embedded-database/ferretdb-server';
import type { RunningRedis } from './redis-server';
import { TEST_ENV } from './test-env';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __testDatabase?: RunningFerretDb }).__testDatabase?.stop();
  await (globalThis as { __testRedis?: RunningRedis }).__testRedis?.stop();
  const dataDir = process.env[TEST_ENV.ownedDataDir];
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}
