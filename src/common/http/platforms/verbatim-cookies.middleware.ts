import { parse } from 'cookie';
import type { NextFunction, Request, Response } from 'express';

/**
 * Runs after cookie-parser and puts back every cookie as @fastify/cookie gives it on Fastify (the
 * `cookie` package: values percent-decoded, the first of a repeated name kept) and nothing more.
 * cookie-parser turns a value that starts with `j:`, written or percent-encoded (`j%3A`), into parsed
 * JSON, so `accessToken=j%3A"<token>"` would authenticate and `accessToken=j:{"$ne":null}` would reach
 * the code as an object. The contract takes cookie values as plain strings.
 */
export function verbatimCookies(req: Request, _res: Response, next: NextFunction): void {
  const header = req.headers.cookie;
  req.cookies = header ? parse(header) : {};
  next();
}
