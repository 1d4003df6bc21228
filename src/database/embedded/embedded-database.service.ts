import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { databaseConfig, type DatabaseConfig } from '../../config';

const EMBEDDED_DATABASE_NAME = 'secure_logout_jwt';

/** Where the development database tooling lives in a checkout (it is not part of dist/). */
const TOOLING = join('dev', 'embedded-database', 'index.js');

/** What dev/embedded-database/index.js exports. */
interface DevelopmentDatabaseTooling {
  startDevelopmentDatabase(options: {
    cacheDir: string;
    dataDir: string;
    database: string;
    log: (line: string) => void;
  }): Promise<{ uri: string; summary: string; stop(): Promise<void> }>;
}

export class EmbeddedDatabaseUnavailableError extends Error {
  override name = 'EmbeddedDatabaseUnavailableError';
}

/** The tooling of the checkout this build was made in: the nearest folder above it with a package.json and the tooling. */
export function findDevelopmentDatabaseTooling(from: string = __dirname): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, TOOLING))) return join(dir, TOOLING);
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Starts a local MongoDB-wire server when no MONGODB_URI is configured outside production, so that
 * `npm ci && npm start` works with nothing else installed. What it starts, and how (FerretDB built
 * with Go on first use, see README), is development tooling loaded from the checkout
 * (dev/embedded-database/): the build holds none of it, and production requires MONGODB_URI.
 */
@Injectable()
export class EmbeddedDatabaseService implements OnApplicationShutdown {
  private readonly logger = new Logger('EmbeddedDatabase');
  private stopServer?: () => Promise<void>;

  constructor(@Inject(databaseConfig.KEY) private readonly config: DatabaseConfig) {}

  async start(): Promise<string> {
    const toolingPath = findDevelopmentDatabaseTooling();
    if (!toolingPath) {
      throw new EmbeddedDatabaseUnavailableError(
        `No MONGODB_URI is set, and this build is not inside a source checkout with ${TOOLING} (the embedded ` +
          'development database is not shipped): set MONGODB_URI.',
      );
    }
    const tooling = (await import(toolingPath)) as DevelopmentDatabaseTooling;
    const database = await tooling.startDevelopmentDatabase({
      cacheDir: this.config.toolCacheDir,
      dataDir: this.config.embeddedDataDir,
      database: EMBEDDED_DATABASE_NAME,
      // Straight to standard error: the application's own log lines are held back until its logger is
      // ready, and a first-run build takes minutes.
      log: (line) => process.stderr.write(`[embedded database] ${line}\n`),
    });
    this.stopServer = database.stop;
    this.logger.log(`No MONGODB_URI set: ${database.summary}`);
    return database.uri;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stopServer?.();
  }
}
