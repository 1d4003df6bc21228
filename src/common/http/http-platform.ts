import type { AbstractHttpAdapter } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import type { AppConfig } from '../../config';
import { configureExpress, createExpressAdapter } from './platforms/express.platform';
import { configureFastify, createFastifyAdapter } from './platforms/fastify.platform';
import { installServerResponses } from './server-responses';

type PlatformConfig = Pick<AppConfig, 'httpAdapter' | 'requestTimeoutMs' | 'trustProxy'>;

/**
 * The HTTP server under Nest, chosen by HTTP_ADAPTER: Express (the default, with cookie-parser) or
 * Fastify (the fast mode). Everything that differs between the two is in ./platforms; the rest of the
 * application reads requests as HttpRequest and writes responses through ResponseWriter.
 */
export function createHttpAdapter(config: PlatformConfig): AbstractHttpAdapter {
  return config.httpAdapter === 'fastify' ? createFastifyAdapter(config) : createExpressAdapter(config);
}

/**
 * Proxy trust, cookies and bodies, the way the chosen adapter does them; security headers and request
 * ids on every response, at the Node.js server under either.
 */
export async function configureHttpPlatform(app: INestApplication, config: AppConfig): Promise<void> {
  installServerResponses(app.getHttpServer() as Server);
  if (config.httpAdapter === 'fastify') await configureFastify(app, config);
  else configureExpress(app, config);
}
