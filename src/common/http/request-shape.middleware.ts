import { BadRequestException, HttpException, HttpStatus } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** The contract's bodies are flat objects of strings: anything deeper than this is an attack. */
export const MAX_BODY_DEPTH = 8;
export const MAX_ARRAY_LENGTH = 1000;
/** Also bounds the validation errors (one per unexpected property) an answer can carry. */
export const MAX_OBJECT_KEYS = 50;
/** Keys that reach Object.prototype when a body is merged or copied carelessly. */
const POLLUTING_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Registered before the JSON parser: a body in any other format is refused with 415, not ignored. */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  if (METHODS_WITH_BODY.has(req.method) && hasBody(req) && !JSON_MEDIA_TYPE.test(req.headers['content-type'] ?? '')) {
    next(new HttpException('Request body must be application/json', HttpStatus.UNSUPPORTED_MEDIA_TYPE));
    return;
  }
  next();
}

/**
 * Registered after the JSON parser: refuses deep nesting, huge arrays and prototype-polluting keys
 * before validation and class-transformer walk the body (recursively). Iterative, so that a hostile
 * body cannot exhaust the stack here either.
 */
export function rejectHostileJson(req: Request, _res: Response, next: NextFunction): void {
  const body: unknown = req.body;
  if (body === null || typeof body !== 'object') return next();
  const pending: Array<[unknown, number]> = [[body, 1]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_BODY_DEPTH) return next(new BadRequestException('Request body is nested too deeply'));
    if (Array.isArray(value)) {
      if (value.length > MAX_ARRAY_LENGTH)
        return next(new BadRequestException('Request body holds too large an array'));
      for (const item of value) pending.push([item, depth + 1]);
      continue;
    }
    const keys = Object.keys(value);
    if (keys.length > MAX_OBJECT_KEYS) return next(new BadRequestException('Request body has too many properties'));
    for (const key of keys) {
      if (POLLUTING_KEYS.has(key)) return next(new BadRequestException(`property ${key} should not exist`));
      pending.push([(value as Record<string, unknown>)[key], depth + 1]);
    }
  }
  next();
}
