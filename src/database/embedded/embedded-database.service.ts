import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { databaseConfig, type DatabaseConfig } from '../../config';

const EMBEDDED_DATABASE_NAME = 'secure_logout_jwt';

/** The package.json name of the checkout whose tooling may be loaded. */
const PROJECT_NAME = 'secure-logout-jwt';

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

/**
 * The tooling of the checkout this build was made in. The search climbs from here to the first folder
 * with a package.json and stops there: the tooling is used only when that package.json is this
 * project's, so that no other folder's dev/embedded-database/index.js is ever loaded as code.
 */
function findDevelopmentDatabaseTooling(from: string = __dirname): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const packageJson = join(dir, 'package.json');
    if (existsSync(packageJson)) {
      const tooling = join(dir, TOOLING);
      return packageName(packageJson) === PROJECT_NAME && existsSync(tooling) ? tooling : undefined;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

function packageName(packageJson: string): unknown {
  try {
    return (JSON.parse(readFileSync(packageJson, 'utf8')) as { name?: unknown }).name;
  } catch {
    return undefined;
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
        `No MONGODB_URI is set, and this build is not inside a ${PROJECT_NAME} source checkout with ` +
          `${TOOLING} (the embedded development database is not shipped): set MONGODB_URI.`,
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
