import { createConnection, type Connection } from 'mongoose';
import type { DatabaseConfig } from '../config';
import { databaseConnectionOptions } from './database-connection.options';

const config: DatabaseConfig = {
  uri: undefined,
  dbName: 'secure_logout_jwt',
  embeddedDataDir: '.data',
  toolCacheDir: '.cache',
  serverSelectionTimeoutMs: 3000,
};

/** Hosts that never resolve: the client is made with its options, and closed before it could connect. */
const REPLICA_SET = 'mongodb://db-a.invalid:27017,db-b.invalid:27017,db-c.invalid:27017/?replicaSet=rs0';

/** The driver's options as Mongoose hands them over from the options the app gives it. */
async function driverOptionsFor(uri: string) {
  const { uri: _uri, ...options } = databaseConnectionOptions(config, uri);
  const connection: Connection = createConnection(uri, options);
  connection.asPromise().catch(() => undefined);
  const client = connection.getClient();
  await client.close(true);
  return client.options;
}

describe('databaseConnectionOptions on a replica set (read from the driver)', () => {
  it('writes with majority and journal, reads from the primary, retries writes and reads', async () => {
    const options = await driverOptionsFor(REPLICA_SET);
    expect({
      replicaSet: options.replicaSet,
      w: options.writeConcern?.w,
      journal: options.writeConcern?.journal,
      readPreference: options.readPreference.mode,
      readConcern: options.readConcern?.level,
      retryWrites: options.retryWrites,
      retryReads: options.retryReads,
    }).toEqual({
      replicaSet: 'rs0',
      w: 'majority',
      journal: true,
      readPreference: 'primary',
      readConcern: 'local',
      retryWrites: true,
      retryReads: true,
    });
  });

  it('a URI asking for less (w=1, secondary reads, no retries) does not weaken them', async () => {
    const options = await driverOptionsFor(
      `${REPLICA_SET}&w=1&journal=false&readPreference=secondaryPreferred&retryWrites=false&retryReads=false`,
    );
    expect({
      w: options.writeConcern?.w,
      journal: options.writeConcern?.journal,
      readPreference: options.readPreference.mode,
      retryWrites: options.retryWrites,
      retryReads: options.retryReads,
    }).toEqual({ w: 'majority', journal: true, readPreference: 'primary', retryWrites: true, retryReads: true });
  });
});
