import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiNoContentResponse, ApiOkResponse, ApiOperation, getSchemaPath } from '@nestjs/swagger';
import { ApiErrorResponse } from '../common/http/api-error-response.decorator';
import { ApiCrossSiteForbiddenResponse } from '../access/auth.decorator';
import {
  CookieTokensResponseDto,
  EXAMPLE_ACCESS_TOKEN,
  EXAMPLE_REFRESH_TOKEN,
  TokenPairResponseDto,
} from './dto/token-response.dto';

/** OpenAPI pieces of AuthController that would crowd its handlers. */

/** AuthRateLimitGuard's 429, possible on every route of AuthController but verify. */
export const RATE_LIMITED = {
  summary: 'More than AUTH_RATE_LIMIT requests a minute from this address to /api/auth/*',
  message: 'ThrottlerException: Too Many Requests',
};

export const ApiRateLimitedResponse = () =>
  ApiErrorResponse(429, 'Too many requests from this address; see Retry-After', { rateLimited: RATE_LIMITED });

/** The forward-auth route's documentation: what a proxy sends, and each answer. */
export const ApiVerifyOperation = () =>
  applyDecorators(
    ApiOperation({
      operationId: 'verify',
      summary: "Forward-auth for reverse proxies: 204 with the caller's identity in headers",
      description:
        "For a proxy's auth subrequest (nginx auth_request, Caddy forward_auth, Traefik ForwardAuth): 204 lets the request through, 401 refuses it. " +
        'With a cookie, an unsafe original method (`X-Forwarded-Method` or `X-Original-Method`) from a cross-site origin gets 403, as the API itself would answer. ' +
        'Not counted against AUTH_RATE_LIMIT; VERIFY_RATE_LIMIT (off by default) is its own per-address budget. ' +
        'A 401 carries `X-Auth-Message` with its message, for proxies that do not pass the body on.',
    }),
    ApiCrossSiteForbiddenResponse(),
    ApiErrorResponse(429, 'More than VERIFY_RATE_LIMIT checks a minute from this address (when set); see Retry-After', {
      rateLimited: { ...RATE_LIMITED, summary: 'More than VERIFY_RATE_LIMIT requests a minute from this address' },
    }),
    ApiNoContentResponse({
      description: 'The token belongs to a live session',
      headers: {
        'X-User-Id': { description: 'User id', schema: { type: 'string', example: '6650f0c2a1b2c3d4e5f60718' } },
        'X-User-Roles': { description: 'Comma-separated roles', schema: { type: 'string', example: 'admin,user' } },
        'X-Session-Id': { description: 'Session id', schema: { type: 'string', example: '6650f0c2a1b2c3d4e5f60719' } },
        'Cache-Control': {
          description: 'Every answer is checked afresh',
          schema: { type: 'string', example: 'no-store' },
        },
      },
    }),
  );

/** PasswordHasher's 503 when its queue is full. */
export const ApiHashingBusyResponse = () =>
  ApiErrorResponse(
    503,
    'Too many password checks queued on this instance, or the database unavailable; see Retry-After',
    {
      busy: 'Server busy, try again shortly',
      databaseUnavailable: 'Database unavailable, try again shortly',
    },
  );

const TOKEN_COOKIES =
  'Two cookies: `accessToken` (Path=/) and `refreshToken` (Path=/api/auth), both HttpOnly, with Max-Age set to ' +
  'their lifetimes. Secure and SameSite follow COOKIE_SECURE and COOKIE_SAMESITE.';
const SET_COOKIE_EXAMPLE = `accessToken=${EXAMPLE_ACCESS_TOKEN}; Max-Age=900; Path=/; HttpOnly; Secure; SameSite=Strict`;
const NO_STORE_HEADER = { description: 'Tokens are never cached', schema: { type: 'string', example: 'no-store' } };

/** Headers of a response that sets both token cookies (see AuthCookies). */
export const TOKEN_COOKIE_HEADERS = {
  'Set-Cookie': { description: TOKEN_COOKIES, schema: { type: 'string', example: SET_COOKIE_EXAMPLE } },
  'Cache-Control': NO_STORE_HEADER,
};

/** Headers of a logout: both cookies cleared with the attributes they were set with. */
export const CLEARED_COOKIE_HEADERS = {
  'Set-Cookie': {
    description: 'Clears `accessToken` (Path=/) and `refreshToken` (Path=/api/auth), same attributes as when set',
    schema: {
      type: 'string',
      example: 'accessToken=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict',
    },
  },
};

/** The 200 of a refresh: one of two bodies, depending on where the refresh token came from. */
export function ApiRefreshOkResponse() {
  return applyDecorators(
    ApiExtraModels(TokenPairResponseDto, CookieTokensResponseDto),
    ApiOkResponse({
      description: 'The successor tokens, delivered the way the refresh token came',
      headers: {
        'Set-Cookie': {
          description: `Only for a cookie refresh. ${TOKEN_COOKIES}`,
          schema: { type: 'string', example: SET_COOKIE_EXAMPLE },
        },
        'Cache-Control': NO_STORE_HEADER,
      },
      // anyOf, not oneOf: a token pair is also a valid CookieTokensResponseDto (it has every field of it).
      schema: {
        anyOf: [{ $ref: getSchemaPath(TokenPairResponseDto) }, { $ref: getSchemaPath(CookieTokensResponseDto) }],
      },
      examples: {
        fromBody: {
          summary: 'The refresh token came in the body',
          value: {
            accessToken: EXAMPLE_ACCESS_TOKEN,
            refreshToken: EXAMPLE_REFRESH_TOKEN,
            tokenType: 'Bearer',
            expiresIn: 900,
          },
        },
        fromCookie: { summary: 'The refresh token came in the cookie', value: { tokenType: 'Bearer', expiresIn: 900 } },
      },
    }),
  );
}
