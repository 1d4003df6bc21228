import type { Provider } from '@nestjs/common';
import { getConnectionToken, MongooseModule, type ModelDefinition } from '@nestjs/mongoose';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Connection } from 'mongoose';
import { randomBytes } from 'node:crypto';

export interface RepositoryTestModule {
  module: TestingModule;
  connection: Connection;
  /** Drops the database and closes the connection. */
  close(): Promise<void>;
}

/**
 * Repositories on the run's real database (the Jest global setup sets MONGODB_URI), each suite in a
 * database of its own. Initialised, so that indexes and startup work (onModuleInit) have run.
 */
export async function repositoryTestModule(
  label: string,
  models: ModelDefinition[],
  providers: Provider[],
): Promise<RepositoryTestModule> {
  const uri = process.env.MONGODB_URI;
  if (!uri) throw new Error('No test database: the Jest global setup did not run');
  const dbName = `t_${label.replace(/[^a-z0-9]/gi, '').slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  const module = await Test.createTestingModule({
    imports: [MongooseModule.forRoot(uri, { dbName }), MongooseModule.forFeature(models)],
    providers,
  }).compile();
  await module.init();
  const connection = module.get<Connection>(getConnectionToken());
  return {
    module,
    connection,
    close: async () => {
      await connection.dropDatabase();
      await module.close();
    },
  };
}
