import type { MongooseModuleFactoryOptions } from '@nestjs/mongoose';
import type { DatabaseConfig } from '../config';

/**
 * How the app talks to the database, the same on a single server and on a replica set.
 *
 * - Writes are acknowledged by a majority of the members (and their journals): a revocation, a
 *   password change or a rotation the client was told about survives the primary's failure; a write
 *   only the old primary had is one whose request never succeeded.
 * - Reads go to the primary with the "local" read concern: the session check sees every acknowledged
 *   revocation (acknowledged means majority-committed, which a newly elected primary has). What a
 *   "local" read can add is a write still in flight, and a revocation seen early refuses sooner; a
 *   "majority" read concern would add latency to every check and refuse nothing more.
 * - Retryable writes and reads: one network error during a failover is retried by the driver once.
 */
export function databaseConnectionOptions(config: DatabaseConfig, uri: string): MongooseModuleFactoryOptions {
  return {
    uri,
    dbName: config.dbName,
    // Top-level, as in the URI: the driver reads these over a writeConcern object, so a URI's `w` or
    // `journal` cannot weaken them.
    w: 'majority',
    journal: true,
    readPreference: 'primary',
    readConcern: { level: 'local' },
    retryWrites: true,
    retryReads: true,
    // Fail fast instead of queueing: a request that needs an unreachable database gets 503 within
    // a few seconds, and the driver keeps reconnecting in the background.
    serverSelectionTimeoutMS: config.serverSelectionTimeoutMs,
    bufferCommands: false,
    autoIndex: true,
  };
}
