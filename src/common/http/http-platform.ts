import type { AbstractHttpAdapter } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import type { AppConfig } from '../../config';
import { installServerResponses } from './server-responses';

type ExpressPlatform = typeof import('./platforms/express.platform');
type FastifyPlatform = typeof import('./platforms/fastify.platform');

/* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, see below */
/**
 * Only the chosen adapter's packages are loaded: an Express deployment never loads Fastify's, nor the
 * reverse (each is a few hundred modules, read at every start).
 */
const expressPlatform = (): ExpressPlatform => require('./platforms/express.platform') as ExpressPlatform;
const fastifyPlatform = (): FastifyPlatform => require('./platforms/fastify.platform') as FastifyPlatform;
/* eslint-enable @typescript-eslint/no-require-imports */

type PlatformConfig = Pick<AppConfig, 'httpAdapter' | 'requestTimeoutMs' | 'trustProxy'>;

/**
 * The HTTP server under Nest, chosen by HTTP_ADAPTER: Express (the default, with cookie-parser) or
 * Fastify (the fast mode). Everything that differs between the two is in ./platforms; the rest of the
 * application reads requests as HttpRequest and writes responses through ResponseWriter.
 */
export function createHttpAdapter(config: PlatformConfig): AbstractHttpAdapter {
  return config.httpAdapter === 'fastify'
    ? fastifyPlatform().createFastifyAdapter(config)
    : expressPlatform().createExpressAdapter(config);
}

/**
 * Proxy trust, cookies and bodies, the way the chosen adapter does them; security headers and request
 * ids on every response, at the Node.js server under either.
 */
export async function configureHttpPlatform(app: INestApplication, config: AppConfig): Promise<void> {
  installServerResponses(app.getHttpServer() as Server);
  if (config.httpAdapter === 'fastify') await fastifyPlatform().configureFastify(app, config);
  else expressPlatform().configureExpress(app, config);
}
