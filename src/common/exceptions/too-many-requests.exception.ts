import { HttpException, HttpStatus } from '@nestjs/common';

/** A 429 that knows when to come back; the exception filter writes it as Retry-After. */
export class TooManyRequestsException extends HttpException {
  constructor(
    readonly retryAfterSeconds: number,
    message = 'Too many requests',
  ) {
    super(message, HttpStatus.TOO_MANY_REQUESTS);
  }
}
