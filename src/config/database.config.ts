import { registerAs } from '@nestjs/config';
import type { Environment } from './environment';
import { loadEnvironment } from './load-environment';

/** The database settings, derived from the parsed environment. */
export function databaseConfigFrom(env: Environment) {
  return {
    /** Unset outside production: an embedded MongoDB-wire server is started (see README). */
    uri: env.mongodbUri,
    dbName: env.mongodbDbName,
    embeddedDataDir: env.embeddedDbDir,
    toolCacheDir: env.toolCacheDir,
    /** How long a request waits for an unreachable database before it is answered with 503. */
    serverSelectionTimeoutMs: 3000,
  };
}
export type DatabaseConfig = ReturnType<typeof databaseConfigFrom>;

export const databaseConfig = registerAs('database', (): DatabaseConfig => databaseConfigFrom(loadEnvironment()));
