import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { APP_OPTIONS, configureApp, createHttpAdapter } from './app.setup';
import { installGracefulShutdown } from './common/http/graceful-shutdown';
import { RevocationFeed } from './revocation-feed/revocation-feed.service';
import { EnvironmentValidationError, type AppConfig } from './config';
import { loadEnvironment } from './config/load-environment';

const logger = new Logger('Bootstrap');

async function bootstrap(): Promise<void> {
  // Held back until the JSON logger takes over, so that even the configuration's warnings are JSON.
  Logger.attachBuffer();
  // Checked before Nest starts, so that a bad variable is reported as one readable line, not a stack.
  const env = loadEnvironment();

  const app = await NestFactory.create(AppModule, createHttpAdapter(env), {
    ...APP_OPTIONS,
    abortOnError: false,
  });
  await configureApp(app);
  const { port, host } = app.get(ConfigService).getOrThrow<AppConfig>('app');
  await app.listen(port, host);
  logger.log(`Listening on http://${host}:${port} (API under /api, explorer at /docs)`);

  installGracefulShutdown(app, logger, { beforeDrain: () => app.get(RevocationFeed).endStreams() });
}

bootstrap().catch((error: unknown) => {
  // Whatever start-up logged before it failed is still buffered for the JSON logger: print it.
  Logger.flush();
  if (error instanceof EnvironmentValidationError) logger.error(error.message);
  else logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
