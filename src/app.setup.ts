import { RequestMethod, type INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { NestApplicationOptions } from '@nestjs/common';
import { Logger as PinoLogger } from 'nestjs-pino';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import helmet from 'helmet';
import { BEARER_SCHEME, COOKIE_SCHEME } from './common/http/openapi';
import { verbatimCookies } from './common/http/verbatim-cookies.middleware';
import type { AppConfig } from './config';
import type { Environment } from './config/environment';
import { TimedExpressAdapter } from './common/http/timed-express.adapter';

export const API_PREFIX = 'api';

const API_DESCRIPTION = `Authentication whose logout revokes.

**Flow**: \`POST /api/auth/register\`, then \`POST /api/auth/login\` returns an access token (JWT, short-lived)
and a refresh token (opaque, single-use), in the body and in HttpOnly cookies. Call protected routes with
\`Authorization: Bearer <accessToken>\` or the \`accessToken\` cookie. \`POST /api/auth/refresh\` exchanges the
refresh token for a new pair (rotation). \`POST /api/auth/logout\` revokes the session: from that moment its
access and refresh tokens get 401, although they have not expired, because every request checks the session.`;

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
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'health', method: RequestMethod.GET },
      { path: 'health/live', method: RequestMethod.GET },
    ],
  });
  if (config.corsOrigins.length > 0) {
    app.enableCors({ origin: config.corsOrigins, credentials: true });
  }

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('secure-logout-jwt')
      .setDescription(API_DESCRIPTION)
      .setVersion('0.1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, BEARER_SCHEME)
      .addCookieAuth('accessToken', { type: 'apiKey', in: 'cookie', name: 'accessToken' }, COOKIE_SCHEME)
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', useGlobalPrefix: false });
  return app;
}
