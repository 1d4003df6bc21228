import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import type { HttpRequest } from '../common/http/http-request';
import { ResponseWriter, type CookieAttributes, type HttpResponse } from '../common/http/response-writer';
import { authConfig, type AuthConfig } from '../config';

export const ACCESS_TOKEN_COOKIE = 'accessToken';
export const REFRESH_TOKEN_COOKIE = 'refreshToken';
/** The refresh cookie is only sent to the routes that use it. */
const REFRESH_COOKIE_PATH = '/api/auth';
const TOKEN_COOKIES = new Set([ACCESS_TOKEN_COOKIE, REFRESH_TOKEN_COOKIE]);
export const DUPLICATED_TOKEN_COOKIE = 'The accessToken and refreshToken cookies may each be sent only once';

export interface CookieTokens {
  accessToken: string;
  accessTokenTtlMs: number;
  refreshToken: string;
  refreshTokenTtlMs: number;
}

/** Reads and writes the two auth cookies; the only place that knows their names and attributes. */
@Injectable()
export class AuthCookies {
  constructor(
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
    private readonly responses: ResponseWriter,
  ) {}

  set(res: HttpResponse, tokens: CookieTokens): void {
    this.responses.setCookie(
      res,
      ACCESS_TOKEN_COOKIE,
      tokens.accessToken,
      this.attributes('/'),
      tokens.accessTokenTtlMs,
    );
    this.responses.setCookie(
      res,
      REFRESH_TOKEN_COOKIE,
      tokens.refreshToken,
      this.attributes(REFRESH_COOKIE_PATH),
      tokens.refreshTokenTtlMs,
    );
  }

  /** Clears with the attributes the cookies were set with, or the browser keeps them. */
  clear(res: HttpResponse): void {
    this.responses.clearCookie(res, ACCESS_TOKEN_COOKIE, this.attributes('/'));
    this.responses.clearCookie(res, REFRESH_TOKEN_COOKIE, this.attributes(REFRESH_COOKIE_PATH));
  }

  /** Refuses a request that carries either token cookie twice (see hasDuplicatedTokenCookie). */
  readRefreshToken(req: HttpRequest): string | undefined {
    if (hasDuplicatedTokenCookie(req)) throw new BadRequestException(DUPLICATED_TOKEN_COOKIE);
    return readCookie(req, REFRESH_TOKEN_COOKIE);
  }

  private attributes(path: string): CookieAttributes {
    return { httpOnly: true, secure: this.config.cookie.secure, sameSite: this.config.cookie.sameSite, path };
  }
}

/** A cookie's value when it is a non-empty string; undefined otherwise. */
export function readCookie(req: Pick<HttpRequest, 'cookies'>, name: string): string | undefined {
  const cookies = req.cookies;
  const value = cookies && Object.prototype.hasOwnProperty.call(cookies, name) ? cookies[name] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Whether the Cookie header names accessToken or refreshToken more than once (Node joins repeated Cookie
 * headers into one with "; ", so those count too). A sibling sub-domain can set a second cookie of the
 * same name that the browser sends first, and both adapters' parsers keep the first: cookie tossing
 * (RFC 6265bis section 8.6). Which copy is genuine cannot be told, so such a request is refused, even
 * when the copies are equal or empty. Names are cut as the `cookie` package cuts them.
 */
export function hasDuplicatedTokenCookie(req: Pick<HttpRequest, 'headers'>): boolean {
  const header = req.headers.cookie;
  if (!header) return false;
  const seen = new Set<string>();
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals === -1) continue;
    const name = pair.slice(0, equals).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!TOKEN_COOKIES.has(name)) continue;
    if (seen.has(name)) return true;
    seen.add(name);
  }
  return false;
}
