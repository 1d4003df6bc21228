import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { APP_OPTIONS, configureApp } from './app.setup';
import { EnvironmentValidationError, type AppConfig } from './config';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { ...APP_OPTIONS, abortOnError: false });
  configureApp(app);
  const { port, host } = app.get(ConfigService).getOrThrow<AppConfig>('app');
  await app.listen(port, host);
  new Logger('Bootstrap').log(`Listening on http://${host}:${port} (API under /api, explorer at /docs)`);
}

bootstrap().catch((error: unknown) => {
  // Configuration errors name the variable; print them without a stack so they are read.
  const cause = findValidationError(error);
  new Logger('Bootstrap').error(cause ? cause.message : error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});

function findValidationError(error: unknown): EnvironmentValidationError | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current instanceof EnvironmentValidationError) return current;
  }
  return undefined;
}
