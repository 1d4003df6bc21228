import { registerAs, type ConfigType } from '@nestjs/config';
import { loadEnvironment } from './load-environment';

export const databaseConfig = registerAs('database', () => {
  const env = loadEnvironment();
  return {
    /** Unset outside production: an embedded MongoDB-wire server is started (see README). */
    uri: env.mongodbUri,
    dbName: env.mongodbDbName,
    embeddedDataDir: env.embeddedDbDir,
    toolCacheDir: env.toolCacheDir,
    /** How long a request waits for an unreachable database before it is answered with 503. */
    serverSelectionTimeoutMs: 3000,
  };
});
export type DatabaseConfig = ConfigType<typeof databaseConfig>;
