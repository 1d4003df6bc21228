import { RequestMethod, type INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { NestApplicationOptions } from '@nestjs/common';
import { Logger as PinoLogger } from 'nestjs-pino';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import helmet from 'helmet';
import { verbatimCookies } from './common/http/verbatim-cookies.middleware';
import type { AppConfig } from './config';
import type { Environment } from './config/environment';
import { TimedExpressAdapter } from './common/http/timed-express.adapter';
import { createOpenApiDocument } from './openapi/openapi-document';

export const API_PREFIX = 'api';

/**
 * Nest's own body parsers are replaced by HttpPipelineModule's, whose errors we shape; logs are
 * buffered until the JSON logger takes over, so that every line is structured.
 */
export const APP_OPTIONS: NestApplicationOptions = { bodyParser: false, bufferLogs: true };

export function createHttpAdapter(env: Pick<Environment, 'requestTimeoutMs'>): TimedExpressAdapter {
  return new TimedExpressAdapter(env.requestTimeoutMs);
}

/** Everything main.ts and the e2e tests must set up identically. */
export function configureApp(app: NestExpressApplication): INestApplication {
  const config = app.get(ConfigService).getOrThrow<AppConfig>('app');

  app.useLogger(app.get(PinoLogger));
  app.disable('x-powered-by');
  // Off unless configured: then X-Forwarded-For cannot choose the address that rate limits count.
  app.set('trust proxy', config.trustProxy);
  // Helmet's defaults, except upgrade-insecure-requests: it would make the explorer at /docs load its
  // scripts over https:// when the service is reached over plain http (development, a private network).
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.use(cookieParser());
  app.use(verbatimCookies);
  useApiPrefix(app);
  if (config.corsOrigins.length > 0) {
    app.enableCors({ origin: config.corsOrigins, credentials: true });
  }

  SwaggerModule.setup('docs', app, createOpenApiDocument(app), {
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
    ],
  });
}
