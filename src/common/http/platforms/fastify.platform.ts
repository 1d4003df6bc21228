import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import type { INestApplication } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../../../config';
import { REQUEST_ID_HEADER, requestIdOf } from '../../../logging/logging.module';
import { registerAllowedMethods } from '../allowed-methods';
import { readJsonBody } from '../json-body';
import { HELMET_OPTIONS } from '../security-headers';

/** Route parameters are ids of 24 characters; longer ones still reach the route and get its 404. */
const MAX_PARAM_LENGTH = 1024;
/** Node's default, which the Express adapter keeps; Fastify's own is 72 s. */
const KEEP_ALIVE_TIMEOUT_MS = 5000;

/**
 * Fastify with what Express does by default (case-insensitive routes, a trailing slash ignored,
 * Node's keep-alive timeout) and the same timeouts as TimedExpressAdapter: a client gets
 * `requestTimeoutMs` to send its headers and whole request, and expired connections are looked for
 * every second.
 */
export function createFastifyAdapter(config: Pick<AppConfig, 'requestTimeoutMs' | 'trustProxy'>): FastifyAdapter {
  return new FastifyAdapter({
    trustProxy: config.trustProxy,
    // The request logger takes Fastify's id (see logging.module.ts): the same rule for both adapters.
    genReqId: requestIdOf,
    // A URL Fastify cannot decode never reaches Nest's filter: answered here in the contract's shape.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      const status = error.statusCode ?? 400;
      const text = STATUS_CODES[status] ?? 'Bad Request';
      void reply.code(status).send({ statusCode: status, message: text, error: text });
    },
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    http: { headersTimeout: config.requestTimeoutMs, connectionsCheckingInterval: 1000 },
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
  });
}

/** Security headers, cookie parsing, body reading and the route table for 405s, on Fastify. */
export async function configureFastify(nestApp: INestApplication, _config: AppConfig): Promise<void> {
  const app = nestApp as NestFastifyApplication;
  await app.register(fastifyHelmet, HELMET_OPTIONS);
  await app.register(fastifyCookie);

  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  // One parser for every content type: the reader Express uses too, so that 415, 413 and 400 are
  // decided by the same code on both adapters.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (request, _payload, done) => {
    readJsonBody(request.raw).then(
      (body) => done(null, body),
      (error: Error) => done(error, undefined),
    );
  });

  const routes: Array<{ methods: string[]; segments: string[] }> = [];
  fastify.addHook('onRoute', (route) => {
    routes.push({ methods: ([] as string[]).concat(route.method), segments: segmentsOf(route.url ?? route.path) });
  });
  registerAllowedMethods(app.getHttpAdapter(), (path) => {
    const segments = segmentsOf(path);
    return routes.filter((route) => patternMatches(route.segments, segments)).flatMap((route) => route.methods);
  });
}

function segmentsOf(path: string): string[] {
  return path.toLowerCase().replace(/\/+$/, '').split('/');
}

/** Fastify's route syntax as this application uses it: literal segments, `:param`, a final `*`. */
function patternMatches(pattern: string[], path: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const segment = pattern[i];
    if (segment.startsWith('*')) return true;
    if (i >= path.length) return false;
    if (segment.startsWith(':')) {
      if (path[i] === '') return false;
    } else if (segment !== path[i]) {
      return false;
    }
  }
  return pattern.length === path.length;
}
