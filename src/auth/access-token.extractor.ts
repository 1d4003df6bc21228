import type { HttpRequest } from '../common/http/http-request';
import { ACCESS_TOKEN_COOKIE, hasDuplicatedTokenCookie, readCookie } from './auth-cookies';

export type TokenSource = 'header' | 'cookie';

export interface PresentedAccessToken {
  /**
   * Null when the Authorization header is present but is not one well-formed Bearer credential, or when
   * a token cookie is sent twice (cookie tossing, see hasDuplicatedTokenCookie).
   */
  token: string | null;
  source: TokenSource;
}

const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * `Authorization: Bearer <token>` (scheme case-insensitive, RFC 6750 syntax) or the accessToken cookie.
 * When an Authorization header is present it is the only source considered: a malformed one is a
 * rejected token, not a reason to fall back to a cookie naming someone else. Never from the URL. A
 * request whose cookies were tossed is refused whichever source it authenticates with: the contract
 * refuses the request, and a page that sends a header also sends the tossed cookies.
 */
export function extractAccessToken(req: HttpRequest): PresentedAccessToken | undefined {
  // The guard and the passport strategy both ask, on the same request: the headers are read once.
  if (!extracted.has(req)) extracted.set(req, extractFromHeaders(req));
  return extracted.get(req);
}

const extracted = new WeakMap<HttpRequest, PresentedAccessToken | undefined>();

function extractFromHeaders(req: HttpRequest): PresentedAccessToken | undefined {
  if (hasDuplicatedTokenCookie(req)) return { token: null, source: 'cookie' };
  const header = req.headers.authorization;
  if (header !== undefined) {
    return { token: BEARER.exec(header)?.[1] ?? null, source: 'header' };
  }
  const cookie = readCookie(req, ACCESS_TOKEN_COOKIE);
  return cookie === undefined ? undefined : { token: cookie, source: 'cookie' };
}
