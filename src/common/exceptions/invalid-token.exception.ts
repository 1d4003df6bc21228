import { UnauthorizedException } from '@nestjs/common';

export const ACCESS_TOKEN_EXPIRED = 'Access token expired';

/**
 * A 401 that says whether a token was presented, so that the response's WWW-Authenticate header can
 * carry `error="invalid_token"` (RFC 6750 section 3) only then.
 */
export class InvalidTokenException extends UnauthorizedException {
  constructor(
    readonly tokenPresented: boolean,
    message = 'Unauthorized',
  ) {
    super(message);
  }
}
