import { BadRequestException, HttpException, HttpStatus } from '@nestjs/common';
import { json } from 'body-parser';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The contract's body limit; larger bodies get 413. */
export const JSON_BODY_LIMIT = '100kb';
/** The contract's bodies are flat objects of strings: anything deeper than this is an attack. */
export const MAX_BODY_DEPTH = 8;
export const MAX_ARRAY_LENGTH = 1000;
/** Also bounds the validation errors (one per unexpected property) an answer can carry. */
export const MAX_OBJECT_KEYS = 50;
/** Keys that reach Object.prototype when a body is merged or copied carelessly. */
const POLLUTING_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** body-parser's error types and what the client is told instead of the parser's own message. */
const BODY_PARSER_ERRORS: Record<string, [HttpStatus, string]> = {
  'entity.parse.failed': [HttpStatus.BAD_REQUEST, 'Malformed JSON body'],
  'entity.too.large': [HttpStatus.PAYLOAD_TOO_LARGE, 'Request body is too large'],
  'entity.verify.failed': [HttpStatus.BAD_REQUEST, 'Invalid request body'],
  'request.aborted': [HttpStatus.BAD_REQUEST, 'Request aborted'],
  'request.size.invalid': [HttpStatus.BAD_REQUEST, 'Request size did not match Content-Length'],
  'charset.unsupported': [HttpStatus.UNSUPPORTED_MEDIA_TYPE, 'Unsupported charset'],
  'encoding.unsupported': [HttpStatus.UNSUPPORTED_MEDIA_TYPE, 'Unsupported content encoding'],
};

export const UNSUPPORTED_BODY_MESSAGE = 'Request body must be application/json';

const parseJson = json({ limit: JSON_BODY_LIMIT });

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Reads a request's body the same way on both adapters (Express calls it from a middleware, Fastify
 * from its content-type parser): a body in any format but JSON is refused with 415, not ignored; the
 * JSON is parsed by body-parser, whose failures become plain HttpExceptions (Nest would otherwise
 * answer with the SyntaxError's text); and hostile shapes are refused before validation walks them.
 * Resolves to undefined when there is no body to parse.
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  if (
    METHODS_WITH_BODY.has(req.method ?? '') &&
    hasBody(req) &&
    !JSON_MEDIA_TYPE.test(req.headers['content-type'] ?? '')
  ) {
    throw new HttpException(UNSUPPORTED_BODY_MESSAGE, HttpStatus.UNSUPPORTED_MEDIA_TYPE);
  }
  const body = await new Promise<unknown>((resolve, reject) => {
    // body-parser reads only the request; the response is part of the middleware signature it keeps.
    parseJson(req, undefined as unknown as ServerResponse, (err?: unknown) => {
      if (!err) return resolve((req as IncomingMessage & { body?: unknown }).body);
      const type = (err as { type?: unknown }).type;
      const known = typeof type === 'string' ? BODY_PARSER_ERRORS[type] : undefined;
      reject(known ? new HttpException(known[1], known[0]) : err);
    });
  });
  const hostile = findHostileShape(body);
  if (hostile) throw new BadRequestException(hostile);
  return body;
}

/**
 * Deep nesting, huge arrays and prototype-polluting keys, found before validation and
 * class-transformer walk the body (recursively). Iterative, so that a hostile body cannot exhaust
 * the stack here either. Returns the client-facing reason, or undefined for an acceptable body.
 */
export function findHostileShape(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const pending: Array<[unknown, number]> = [[body, 1]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_BODY_DEPTH) return 'Request body is nested too deeply';
    if (Array.isArray(value)) {
      if (value.length > MAX_ARRAY_LENGTH) return 'Request body holds too large an array';
      for (const item of value) pending.push([item, depth + 1]);
      continue;
    }
    const keys = Object.keys(value);
    if (keys.length > MAX_OBJECT_KEYS) return 'Request body has too many properties';
    for (const key of keys) {
      if (POLLUTING_KEYS.has(key)) return `property ${key} should not exist`;
      pending.push([(value as Record<string, unknown>)[key], depth + 1]);
    }
  }
  return undefined;
}
