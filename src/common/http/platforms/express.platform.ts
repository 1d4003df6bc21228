import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import cookieParser from 'cookie-parser';
import helmet from 'helmet';
import type { AppConfig } from '../../../config';
import { registerAllowedMethods } from '../allowed-methods';
import { HELMET_OPTIONS } from '../security-headers';
import { expressAllowedMethods } from './express-allowed-methods';
import { TimedExpressAdapter } from './timed-express.adapter';
import { verbatimCookies } from './verbatim-cookies.middleware';

export function createExpressAdapter(config: Pick<AppConfig, 'requestTimeoutMs'>): TimedExpressAdapter {
  return new TimedExpressAdapter(config.requestTimeoutMs);
}

/** Proxy trust, security headers and cookie parsing on Express. Bodies: see HttpPipelineModule. */
export function configureExpress(nestApp: INestApplication, config: AppConfig): void {
  const app = nestApp as NestExpressApplication;
  app.disable('x-powered-by');
  // Off unless configured: then X-Forwarded-For cannot choose the address that rate limits count.
  app.set('trust proxy', config.trustProxy);
  app.use(helmet(HELMET_OPTIONS));
  app.use(cookieParser());
  app.use(verbatimCookies);
  const adapter = app.getHttpAdapter();
  registerAllowedMethods(adapter, (path) => expressAllowedMethods(adapter.getInstance(), path));
}
