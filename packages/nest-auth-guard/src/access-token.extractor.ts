/** Name of the cookie a browser client may carry the access token in. */
export const ACCESS_TOKEN_COOKIE = 'accessToken';

export interface PresentedToken {
  /** Null when an Authorization header is present but is not one well-formed Bearer credential. */
  token: string | null;
}

/** The parts of an Express or Fastify request the extraction reads. */
export interface TokenCarrier {
  headers: Record<string, string | string[] | undefined>;
  /** Set by cookie-parser (Express) or @fastify/cookie when the host installs one. */
  cookies?: Record<string, unknown>;
}

// RFC 6750 `b64token` after a case-insensitive scheme.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * `Authorization: Bearer <token>`, else the accessToken cookie. When the header is present it is the
 * only source considered: a malformed one is a refused token, not a reason to fall back to a cookie
 * that may belong to someone else. Undefined when the request presents no token at all.
 */
export function extractAccessToken(request: TokenCarrier): PresentedToken | undefined {
  const header = request.headers?.authorization;
  if (header !== undefined) {
    return { token: typeof header === 'string' ? (BEARER.exec(header)?.[1] ?? null) : null };
  }
  const cookie = request.cookies?.[ACCESS_TOKEN_COOKIE];
  return typeof cookie === 'string' && cookie !== '' ? { token: cookie } : undefined;
}
