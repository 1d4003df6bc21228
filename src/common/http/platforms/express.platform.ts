import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import cookieParser from 'cookie-parser';
import type { Server } from 'node:http';
import type { AppConfig } from '../../../config';
import { registerAllowedMethods } from '../allowed-methods';
import { answerClientError } from '../server-responses';
import { expressAllowedMethods } from './express-allowed-methods';
import { TimedExpressAdapter } from './timed-express.adapter';
import { verbatimCookies } from './verbatim-cookies.middleware';

export function createExpressAdapter(config: Pick<AppConfig, 'requestTimeoutMs'>): TimedExpressAdapter {
  return new TimedExpressAdapter(config.requestTimeoutMs);
}

/**
 * Proxy trust and cookie parsing on Express. Security headers: see server-responses.ts; bodies: see
 * HttpPipelineModule.
 */
export function configureExpress(nestApp: INestApplication, config: AppConfig): void {
  const app = nestApp as NestExpressApplication;
  app.disable('x-powered-by');
  // Off unless configured: then X-Forwarded-For cannot choose the address that rate limits count.
  app.set('trust proxy', config.trustProxy);
  app.use(cookieParser());
  app.use(verbatimCookies);
  // Replaces Node.js's bare answer to a request its parser refuses (Fastify: its clientErrorHandler).
  (app.getHttpServer() as Server).on('clientError', answerClientError);
  const adapter = app.getHttpAdapter();
  registerAllowedMethods(adapter, (path) => expressAllowedMethods(adapter.getInstance(), path));
}
