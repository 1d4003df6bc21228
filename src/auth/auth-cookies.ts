import { Inject, Injectable } from '@nestjs/common';
import type { CookieOptions, Request, Response } from 'express';
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
  constructor(@Inject(authConfig.KEY) private readonly config: AuthConfig) {}

  set(res: Response, tokens: CookieTokens): void {
    res.cookie(ACCESS_TOKEN_COOKIE, tokens.accessToken, { ...this.attributes('/'), maxAge: tokens.accessTokenTtlMs });
    res.cookie(REFRESH_TOKEN_COOKIE, tokens.refreshToken, {
      ...this.attributes(REFRESH_COOKIE_PATH),
      maxAge: tokens.refreshTokenTtlMs,
    });
  }

  /** Clears with the attributes the cookies were set with, or the browser keeps them. */
  clear(res: Response): void {
    res.clearCookie(ACCESS_TOKEN_COOKIE, this.attributes('/'));
    res.clearCookie(REFRESH_TOKEN_COOKIE, this.attributes(REFRESH_COOKIE_PATH));
  }

  readRefreshToken(req: Request): string | undefined {
    return readCookie(req, REFRESH_TOKEN_COOKIE);
  }

  private attributes(path: string): CookieOptions {
    return { httpOnly: true, secure: this.config.cookie.secure, sameSite: this.config.cookie.sameSite, path };
  }
}

/** A cookie's value when it is a non-empty string; undefined otherwise. */
export function readCookie(req: Request, name: string): string | undefined {
  const cookies = req.cookies as Record<string, unknown> | undefined;
  const value = cookies && Object.prototype.hasOwnProperty.call(cookies, name) ? cookies[name] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}
