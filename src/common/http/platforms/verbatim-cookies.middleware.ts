import { parse } from 'cookie';
import type { NextFunction, Request, Response } from 'express';

/**
 * cookie-parser turns `j:`-prefixed cookie values into parsed JSON, so a cookie
 * `refreshToken=j:{"$ne":null}` would reach the code as an object. The contract takes cookie values as
 * plain strings: this runs right after cookie-parser and puts the raw text back for those values.
 */
export function verbatimCookies(req: Request, _res: Response, next: NextFunction): void {
  const header = req.headers.cookie;
  if (header?.includes('j:') && req.cookies) {
    const raw = parse(header);
    for (const [name, value] of Object.entries(raw)) {
      if (value.startsWith('j:') && Object.prototype.hasOwnProperty.call(req.cookies, name)) req.cookies[name] = value;
    }
  }
  next();
}
