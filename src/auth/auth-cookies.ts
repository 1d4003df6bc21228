import { Inject, Injectable } from '@nestjs/common';
import type { HttpRequest } from '../common/http/http-request';
import { ResponseWriter, type CookieAttributes, type HttpResponse } from '../common/http/response-writer';
import { authConfig, type AuthConfig } from '../config';

export const ACCESS_TOKEN_COOKIE = 'accessToken';
export const REFRESH_TOKEN_COOKIE = 'refreshToken';
/** The refresh cookie is only sent to the routes that use it. */
const REFRESH_COOKIE_PATH = '/api/auth';

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

  readRefreshToken(req: HttpRequest): string | undefined {
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
