import { HttpException, HttpStatus } from '@nestjs/common';
import { json } from 'body-parser';
import type { NextFunction, Request, Response } from 'express';

/** The contract's body limit; larger bodies get 413. */
export const JSON_BODY_LIMIT = '100kb';

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

const parseJson = json({ limit: JSON_BODY_LIMIT });

/**
 * The JSON body parser, with its failures turned into plain HttpExceptions: Nest would otherwise
 * answer a malformed body with the JavaScript SyntaxError's text.
 */
export function jsonBody(req: Request, res: Response, next: NextFunction): void {
  parseJson(req, res, (err?: unknown) => {
    if (!err) return next();
    const type = (err as { type?: unknown }).type;
    const known = typeof type === 'string' ? BODY_PARSER_ERRORS[type] : undefined;
    next(known ? new HttpException(known[1], known[0]) : err);
  });
}
