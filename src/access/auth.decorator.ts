import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth } from '@nestjs/swagger';
import { ApiErrorResponse } from '../common/http/api-error-response.decorator';
import { ACCESS_TOKEN_EXPIRED } from '../common/exceptions/invalid-token.exception';
import { BEARER_SCHEME, COOKIE_SCHEME } from '../common/http/openapi';
import { Roles } from './roles.decorator';

/**
 * Marks a route as needing a live session (and these roles), and documents it: both security schemes,
 * 401, 503, and 403 when roles are required. The global guard enforces it; this keeps code and docs in step.
 */
export function Auth(...roles: string[]) {
  const decorators = [
    ApiBearerAuth(BEARER_SCHEME),
    ApiCookieAuth(COOKIE_SCHEME),
    ApiErrorResponse(401, 'Missing, invalid, expired or revoked access token', {
      unauthorized: {
        summary: 'No token, a malformed, forged or revoked one, or a deleted user',
        message: 'Unauthorized',
      },
      expired: { summary: 'An expired but otherwise valid token: refresh it', message: ACCESS_TOKEN_EXPIRED },
    }),
    ApiErrorResponse(503, 'The session store (database, or Redis where configured) is unreachable; try again shortly', {
      databaseUnavailable: 'Database unavailable, try again shortly',
      stateStoreUnavailable: {
        summary: 'Redis unreachable, or catching up after a failover (Redis configured)',
        message: 'Service temporarily unavailable, try again shortly',
      },
    }),
  ];
  if (roles.length > 0) {
    decorators.push(
      Roles(...roles),
      ApiErrorResponse(403, `Requires role ${roles.join(', ')}`, { insufficientRole: 'Insufficient role' }),
    );
  }
  return applyDecorators(...decorators);
}

/** 403 of a state-changing route: a cookie-authenticated request from a foreign origin (CsrfPolicy). */
export const CROSS_SITE_REFUSED = {
  summary: 'Cookie-authenticated request whose Origin is not allowed, or with Sec-Fetch-Site: cross-site',
  message: 'Cross-site request refused',
};

export function ApiCrossSiteForbiddenResponse() {
  return ApiErrorResponse(403, 'Cookie-authenticated request from a foreign origin (CSRF check)', {
    crossSite: CROSS_SITE_REFUSED,
  });
}
