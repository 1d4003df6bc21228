import { RequestMethod, type INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { NestApplicationOptions } from '@nestjs/common';
import type { Server } from 'node:http';
import { Logger as PinoLogger, PinoLogger as RootLogger } from 'nestjs-pino';
import { SwaggerModule } from '@nestjs/swagger';
import type { AppConfig } from './config';
import { configureHttpPlatform } from './common/http/http-platform';
import { installRequestLogging } from './logging/request-logging';
import { createOpenApiDocument } from './openapi/openapi-document';

export { createHttpAdapter } from './common/http/http-platform';

export const API_PREFIX = 'api';

/**
 * Nest's own body parsers are replaced by one reader shared by both adapters (common/http/json-body.ts),
 * whose errors we shape; logs are buffered until the JSON logger takes over, so that every line is
 * structured.
 */
export const APP_OPTIONS: NestApplicationOptions = { bodyParser: false, bufferLogs: true };

/** Everything main.ts and the e2e tests must set up identically, on either HTTP adapter. */
export async function configureApp(app: INestApplication): Promise<INestApplication> {
  const config = app.get(ConfigService).getOrThrow<AppConfig>('app');

  app.useLogger(app.get(PinoLogger));
  installRequestLogging(app.getHttpServer() as Server, RootLogger.root);
  await configureHttpPlatform(app, config);
  useApiPrefix(app);
  if (config.corsOrigins.length > 0) {
    app.enableCors({ origin: config.corsOrigins, credentials: true });
  }

  // Built on the first request for /docs or /docs-json, not at every start of an instance.
  SwaggerModule.setup('docs', app, () => createOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    useGlobalPrefix: false,
  });
  return app;
}

/**
 * Mounts the API under /api, the probes outside it. Shared with the OpenAPI generator
 * (src/openapi/generate-openapi.ts), so that the document's paths are the served ones.
 */
export function useApiPrefix(app: INestApplication): void {
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'health', method: RequestMethod.GET },
      { path: 'health/live', method: RequestMethod.GET },
      { path: '.well-known/jwks.json', method: RequestMethod.GET },
    ],
  });
}
