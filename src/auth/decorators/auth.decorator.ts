import { applyDecorators } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiForbiddenResponse,
  ApiServiceUnavailableResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../../common/http/error-response.dto';
import { BEARER_SCHEME, COOKIE_SCHEME } from '../../common/http/openapi';
import { Roles } from './roles.decorator';

/**
 * Marks a route as needing a live session (and these roles), and documents it: both security schemes,
 * 401, and 403 when roles are required. The global guard enforces it; this keeps code and docs in step.
 */
export function Auth(...roles: string[]) {
  const decorators = [
    ApiBearerAuth(BEARER_SCHEME),
    ApiCookieAuth(COOKIE_SCHEME),
    ApiUnauthorizedResponse({ description: 'Missing, invalid, expired or revoked access token', type: ErrorResponseDto }),
    ApiServiceUnavailableResponse({ description: 'The session store is unreachable', type: ErrorResponseDto }),
  ];
  if (roles.length > 0) {
    decorators.push(Roles(...roles), ApiForbiddenResponse({ description: `Requires role ${roles.join(', ')}`, type: ErrorResponseDto }));
  }
  return applyDecorators(...decorators);
}
