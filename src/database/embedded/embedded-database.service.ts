import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { databaseConfig, type DatabaseConfig } from '../../config';
import {
  EmbeddedDatabaseUnavailableError,
  ensureFerretDbBinary,
  isGoAvailable,
  startFerretDb,
  type RunningFerretDb,
} from './ferretdb-server';

const EMBEDDED_DATABASE_NAME = 'secure_logout_jwt';

/**
 * Starts a local MongoDB-wire server when no MONGODB_URI is configured outside production, so that
 * `npm ci && npm start` works with nothing else installed. Order of choice (see README):
 * MONGODB_URI, then FerretDB built with Go, then mongodb-memory-server if it is installed.
 */
@Injectable()
export class EmbeddedDatabaseService implements OnApplicationShutdown {
  private readonly logger = new Logger('EmbeddedDatabase');
  private stopServer?: () => Promise<void>;

  constructor(@Inject(databaseConfig.KEY) private readonly config: DatabaseConfig) {}

  async start(): Promise<string> {
    if (await isGoAvailable()) {
      const binary = await ensureFerretDbBinary(this.config.toolCacheDir, (m) => this.logger.log(m));
      const server: RunningFerretDb = await startFerretDb({
        binary,
        dataDir: this.config.embeddedDataDir,
        database: EMBEDDED_DATABASE_NAME,
      });
      this.stopServer = () => server.stop();
      this.logger.log(`No MONGODB_URI set: started embedded FerretDB at ${server.uri} (data in ${server.dataDir})`);
      return server.uri;
    }
    return this.startMongoMemoryServer();
  }

  private async startMongoMemoryServer(): Promise<string> {
    let memoryServerModule: {
      MongoMemoryServer: { create(): Promise<{ getUri(db?: string): string; stop(): Promise<unknown> }> };
    };
    try {
      memoryServerModule = await import('mongodb-memory-server' as string);
    } catch {
      throw new EmbeddedDatabaseUnavailableError(
        'No MONGODB_URI is set, Go is not installed to build FerretDB, and mongodb-memory-server is not installed. ' +
          'Set MONGODB_URI, install Go, or run `npm install --no-save mongodb-memory-server`.',
      );
    }
    const server = await memoryServerModule.MongoMemoryServer.create();
    this.stopServer = async () => void (await server.stop());
    const uri = server.getUri(EMBEDDED_DATABASE_NAME);
    this.logger.log(`No MONGODB_URI set: started mongodb-memory-server at ${uri} (in-memory, data is not kept)`);
    return uri;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stopServer?.();
  }
}
