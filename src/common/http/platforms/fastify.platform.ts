import fastifyCookie from '@fastify/cookie';
import type { INestApplication } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../../../config';
import { registerAllowedMethods } from '../allowed-methods';
import { MALFORMED_PATH } from '../http-request';
import { readJsonBody } from '../json-body';
import { answerClientError, errorBody, JSON_TYPE, requestIdFor } from '../server-responses';

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
    // The id the response already carries (see server-responses.ts), which the request logger takes.
    genReqId: requestIdFor,
    // A URL Fastify cannot decode never reaches Nest's filter: answered here in the contract's shape.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      const status = error.statusCode ?? 400;
      const text = STATUS_CODES[status] ?? 'Bad Request';
      const message = error.code === 'FST_ERR_BAD_URL' ? MALFORMED_PATH : text;
      void reply.code(status).send({ statusCode: status, message, error: text });
    },
    clientErrorHandler: answerClientError,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    http: { headersTimeout: config.requestTimeoutMs, connectionsCheckingInterval: 1000 },
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
  });
}

/**
 * Cookie parsing, body reading, error bodies and the route table for 405s, on Fastify. Security headers:
 * see server-responses.ts.
 */
export async function configureFastify(nestApp: INestApplication, _config: AppConfig): Promise<void> {
  const app = nestApp as NestFastifyApplication;
  await app.register(fastifyCookie);

  const fastify = app.getHttpAdapter().getInstance();
  // Plugins answer some errors in plain text (@fastify/cors: "Invalid Preflight Request"); every error
  // is the contract's JSON.
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    const status = reply.statusCode;
    if (status < 400 || isJson(reply.getHeader('content-type'))) return done(null, payload);
    reply.header('content-type', JSON_TYPE);
    done(null, errorBody(status, STATUS_CODES[status] ?? 'Error'));
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
    const segments = segmentsOf(route.url ?? route.path);
    // A catch-all (@fastify/cors's OPTIONS * for preflights) serves every path: it cannot tell a wrong
    // method from an unknown path, and counted, would turn every 404 into a 405.
    if (isCatchAll(segments)) return;
    routes.push({ methods: ([] as string[]).concat(route.method), segments });
  });
  registerAllowedMethods(app.getHttpAdapter(), (path) => {
    const segments = segmentsOf(path);
    return routes.filter((route) => patternMatches(route.segments, segments)).flatMap((route) => route.methods);
  });
}

function isJson(contentType: unknown): boolean {
  return typeof contentType === 'string' && /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType);
}

function isCatchAll(segments: string[]): boolean {
  const first = segments[0] === '' ? segments[1] : segments[0];
  return segments.length <= 2 && first?.startsWith('*') === true;
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
